// The page's watchdog: what this browser checks itself as entries and checkpoints arrive,
// instead of taking the node's word (the rules are in verify.js and docs/PROTOCOL.md). Any
// failure raises an alarm that stays on the page.

import { el, hex } from "./dom.js";
import { t } from "./i18n.js";
import {
  entryHash, entryLeafHash, equalBytes, fingerprintOfKey, keyIdOf, parseCheckpoint,
  verifyBodySignature, verifyCheckpointSignature, verifyConsistency, verifyCosignature,
  verifyInclusion,
} from "./verify.js";

/** How long the witnesses may trail the node before the page raises the alarm. */
const WITNESS_GRACE_MS = 60000;

/** Where this browser remembers the last witnessed checkpoint it verified, per ledger. */
const REMEMBERED_PREFIX = "sunshine-ledger-witnessed:";

export class Watchdog {
  /**
   * `api`: the gRPC-Web client (for proofs); `keys.lookup(keyIdHex)` and `keys.reload()`: the
   * ledger's registered keys; `onChange()`: called when there is something new to show.
   */
  constructor(api, keys, onChange) {
    this.api = api;
    this.keys = keys;
    this.onChange = onChange;
    this.ledgerId = "";
    // Each { state: "ok" | "bad" | "pending", detail, count }.
    this.checks = {
      signature: { state: "pending" },
      chain: { state: "pending", count: 0 },
      signatures: { state: "pending", count: 0 },
      inclusion: { state: "pending" },
      consistency: { state: "pending", count: 0 },
      witnessed: { state: "pending" },
      remembered: { state: "pending" },
    };
    // From the genesis (app.js): [{ name, ed25519 }], the quorum, and the ledger fingerprint
    // that keys what this browser remembers.
    this.witnesses = [];
    this.witnessQuorum = 0;
    this.ledgerFingerprint = "";
    this.alarms = [];
    this.trustedKey = null; // the node key of the first checkpoint seen
    this.lastChecked = null; // { size, root } of the last checkpoint checked
    this.queue = Promise.resolve(); // checks run one at a time, in arrival order
  }

  alarm(what) {
    if (!this.alarms.includes(what)) this.alarms.push(what);
  }

  mark(check, ok, detail, alarmText) {
    if (!ok) {
      check.state = "bad";
      check.detail = detail;
      this.alarm(detail ? `${alarmText} (${detail})` : alarmText);
    } else if (check.state !== "bad") {
      check.state = "ok";
    }
  }

  enqueue(work) {
    this.queue = this.queue.then(work).catch((e) => console.error(e)).then(() => this.onChange());
  }

  /**
   * A new entry, shown after `previous` (the newest before it, if any). Sets `item.hashOk`.
   * The live stream carries every entry in order, so an entry that does not follow `previous`
   * directly means the node left entries out: that is flagged, never taken as linked.
   */
  entry(item, previous) {
    const { entry } = item;
    item.hashOk = equalBytes(entryHash(entry), entry.entry_hash);
    this.checks.chain.count += 1;
    if (previous && previous.entry.sequence + 1n !== entry.sequence) {
      const gap = `#${previous.entry.sequence} → #${entry.sequence}`;
      this.mark(this.checks.chain, false, gap, t("checkChainGap"));
    } else {
      const linked = !previous || equalBytes(entry.prev_hash, previous.entry.entry_hash);
      this.mark(this.checks.chain, item.hashOk && linked, `#${entry.sequence}`, t("checkChainBad"));
    }
    this.enqueue(() => this.signaturesOf(item));
  }

  async signaturesOf(item) {
    const c = this.checks.signatures;
    let ok = item.envelope !== null && item.envelope.signatures.length > 0;
    for (const sig of ok ? item.envelope.signatures : []) {
      let key = this.keys.lookup(hex(sig.key_id));
      if (!key) {
        await this.keys.reload(); // registered since the page last asked
        key = this.keys.lookup(hex(sig.key_id));
      }
      // A key id is the hash of its key: the node cannot answer with another key for it.
      ok = ok && key !== undefined && equalBytes(keyIdOf(key.public_key), sig.key_id) && verifyBodySignature(key.public_key, sig.signature, item.envelope.body);
    }
    c.count += 1;
    this.mark(c, ok, `#${item.entry.sequence}`, t("checkSignaturesBad"));
  }

  /** A new checkpoint; `feed` is the entries shown, newest first. */
  checkpoint(cp, feed) {
    this.enqueue(() => this.checkpointOf(cp, feed));
  }

  async checkpointOf(cp, feed) {
    const checks = this.checks;
    let parsed;
    try {
      parsed = parseCheckpoint(cp.text);
    } catch (e) {
      this.mark(checks.signature, false, e.message, t("checkSignatureBad"));
      return;
    }
    const matches = parsed.size === cp.tree_size && equalBytes(parsed.root, cp.root_hash) && (!this.ledgerId || parsed.origin === this.ledgerId);
    if (!matches) {
      this.mark(checks.signature, false, "text ≠ fields", t("checkSignatureBad"));
      return;
    }
    const fingerprint = fingerprintOfKey(cp.node_public_key);
    if (fingerprint !== cp.node_key_fingerprint) {
      this.alarm(`${t("nodeKey")}: ${cp.node_key_fingerprint} ≠ ${fingerprint}`);
    }
    if (this.trustedKey === null) this.trustedKey = cp.node_public_key;
    if (!equalBytes(this.trustedKey, cp.node_public_key)) {
      this.mark(checks.signature, false, t("checkKeyChanged"), t("checkSignatureBad"));
      return;
    }
    this.mark(checks.signature, verifyCheckpointSignature(parsed, this.trustedKey), null, t("checkSignatureBad"));

    const size = parsed.size;
    const last = this.lastChecked;
    checks.consistency.count += 1;
    if (last && size !== last.size) {
      const proof = await this.api.call("GetConsistencyProof", { old_size: last.size, new_size: size });
      const ok = proof.old_size === last.size && proof.new_size === size && verifyConsistency(last.size, size, proof.hashes, last.root, parsed.root);
      this.mark(checks.consistency, ok, `${last.size} → ${size}`, t("checkConsistencyBad"));
    } else {
      // The first one seen, or the same size again: then it must be the same tree.
      this.mark(checks.consistency, !last || equalBytes(last.root, parsed.root), `${size}`, t("checkConsistencyBad"));
    }
    this.lastChecked = { size, root: parsed.root };

    await this.witnessedOf(parsed, cp.witnessed_text);

    // The stream sends a checkpoint after every entry it covers: one that covers more than
    // the page was sent means entries were held back from the live feed.
    if (feed.length && feed[0].entry.sequence + 1n < size) {
      this.mark(checks.chain, false, `#${feed[0].entry.sequence} → ${size}`, t("checkChainGap"));
    }
    const newest = feed.find((f) => f.entry.sequence < size);
    if (newest) {
      const seq = newest.entry.sequence;
      const proof = await this.api.call("GetInclusionProof", { sequence: seq, tree_size: size });
      // hashOk: the entry's own hash was recomputed when it arrived.
      const ok = newest.hashOk && verifyInclusion(seq, size, entryLeafHash(newest.entry), proof.hashes, parsed.root);
      this.mark(checks.inclusion, ok, `#${seq}`, t("checkInclusionBad"));
      if (checks.inclusion.state === "ok") checks.inclusion.detail = `#${seq}`;
    }
  }

  /**
   * The node's latest witnessed checkpoint (`witnessedText`, as the checkpoint event carries it;
   * fetched anew when a recheck has none): signed by the node
   * key, cosigned by the genesis's witness quorum, a prefix of `head` (the checkpoint just
   * checked), and an extension of the one this browser remembered from its last visit.
   */
  async witnessedOf(head, witnessedText) {
    const c = this.checks;
    if (this.witnessQuorum === 0) {
      c.witnessed.state = "none";
      c.remembered.state = "none";
      return;
    }
    const text = witnessedText ?? (await this.api.call("GetCheckpoint", {})).witnessed_text;
    if (!text) {
      // Nothing cosigned yet (the first round trails the node): behind by the whole tree.
      this.behind({ size: 0n }, head);
      return;
    }
    let w;
    try {
      w = parseCheckpoint(text);
    } catch (e) {
      this.mark(c.witnessed, false, e.message, t("checkWitnessedBad"));
      return;
    }
    const by = this.witnesses.filter((x) => verifyCosignature(w, x)).map((x) => x.name);
    const signed = w.origin === this.ledgerId && verifyCheckpointSignature(w, this.trustedKey);
    const extends_ = await this.extendsTree(w.size, w.root, head.size, head.root);
    const ok = signed && extends_ && by.length >= this.witnessQuorum;
    this.mark(c.witnessed, ok, `${by.length}/${this.witnessQuorum}`, t("checkWitnessedBad"));
    if (!ok) return;
    c.witnessed.detail = `${w.size} · ${by.join(", ")}`;
    await this.rememberedOf(w);
    this.behind(w, head);
  }

  /**
   * Witnesses trail the node by a second or so; entries they never see may be a history shown
   * to this browser alone (a forked node keeps an old witnessed checkpoint). Behind for longer
   * than WITNESS_GRACE_MS: the alarm.
   */
  behind(w, head) {
    const c = this.checks.witnessed;
    if (w.size >= head.size) {
      this.behindSince = null;
      return;
    }
    this.behindSince ??= Date.now();
    const missing = head.size - w.size;
    if (Date.now() - this.behindSince > WITNESS_GRACE_MS) {
      this.mark(c, false, `${missing} ${t("records")}`, t("checkWitnessedBehind"));
      return;
    }
    if (c.state !== "bad") c.state = "pending";
    if (!this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = null;
        this.enqueue(() => this.witnessedOf(head));
      }, 3000);
    }
  }

  /** Whether the tree (newSize, newRoot) extends (oldSize, oldRoot), by the node's proof. */
  async extendsTree(oldSize, oldRoot, newSize, newRoot) {
    if (oldSize > newSize) return false;
    if (oldSize === newSize) return equalBytes(oldRoot, newRoot);
    const proof = await this.api.call("GetConsistencyProof", { old_size: oldSize, new_size: newSize });
    return verifyConsistency(oldSize, newSize, proof.hashes, oldRoot, newRoot);
  }

  /** Compares with, then replaces, what this browser remembered for this ledger. */
  async rememberedOf(w) {
    const c = this.checks.remembered;
    const storeKey = REMEMBERED_PREFIX + this.ledgerFingerprint;
    let before = null;
    try {
      before = JSON.parse(localStorage.getItem(storeKey) || "null");
    } catch (_) { /* storage off or damaged: treated as a first visit */ }
    if (before && typeof before.size === "string" && typeof before.root === "string") {
      const size = BigInt(before.size);
      const root = Uint8Array.from(before.root.match(/../g) || [], (h) => parseInt(h, 16));
      const ok = await this.extendsTree(size, root, w.size, w.root);
      this.mark(c, ok, `${size} → ${w.size}`, t("checkRememberedBad"));
      if (!ok) return; // keep the evidence of what was seen before
      c.detail = `${size} → ${w.size}`;
    } else {
      c.state = "first";
    }
    try {
      localStorage.setItem(storeKey, JSON.stringify({ size: String(w.size), root: hex(w.root) }));
    } catch (_) { /* private browsing: nothing remembered */ }
  }

  /** The "checked by this browser" list; `fingerprint` is the node key's, computed here. */
  render(fingerprint) {
    const c = this.checks;
    const line = (id, check, okText, badText, extra = "") => {
      const mark = { ok: "✓", bad: "✗", pending: "…", none: "⚠", first: "✓" }[check.state];
      const text = {
        ok: okText, bad: badText, pending: t("checkPending"),
        none: t("checkWitnessedNone"), first: t("checkRememberedFirst"),
      }[check.state];
      return el(
        "li",
        { id, class: `check ${check.state}`, "data-state": check.state },
        el("span", { class: "mark" }, mark), " ", text,
        extra && check.state === "ok" ? ` (${extra})` : "",
        check.detail && check.state === "ok" && !extra ? ` (${check.detail})` : "",
        check.detail && check.state === "bad" ? ` — ${check.detail}` : "",
      );
    };
    return el(
      "div",
      { class: "checks" },
      el("h3", {}, t("checkedHere")),
      el("p", { class: "muted" }, t("checkedHereNote")),
      el(
        "ul",
        {},
        el("li", { id: "check-fingerprint", class: "check ok", "data-state": "ok" }, el("span", { class: "mark" }, "✓"), " ", t("checkFingerprint"), ": ", el("code", {}, fingerprint)),
        line("check-signature", c.signature, t("checkSignatureOk"), t("checkSignatureBad")),
        line("check-chain", c.chain, t("checkChainOk"), t("checkChainBad"), `${c.chain.count} ${t("records")}`),
        line("check-signatures", c.signatures, t("checkSignaturesOk"), t("checkSignaturesBad"), `${c.signatures.count} ${t("records")}`),
        line("check-inclusion", c.inclusion, t("checkInclusionOk"), t("checkInclusionBad"), c.inclusion.detail),
        line("check-consistency", c.consistency, t("checkConsistencyOk"), t("checkConsistencyBad"), `${c.consistency.count} ${t("checkpointsSeen")}`),
        line("check-witnessed", c.witnessed, t("checkWitnessedOk"), t("checkWitnessedBad")),
        c.witnessed.state === "none" ? null : line("check-remembered", c.remembered, t("checkRememberedOk"), t("checkRememberedBad")),
      ),
    );
  }

  /** The alarm box, or null while every check holds. */
  renderAlarm() {
    if (this.alarms.length === 0) return null;
    return el("div", { class: "alarm", role: "alert" }, t("alarm"), el("ul", {}, this.alarms.map((a) => el("li", {}, a))));
  }
}
