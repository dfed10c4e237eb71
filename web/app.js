// The public dashboard: reads the ledger over gRPC-Web and follows Subscribe live.
//
// Everything shown comes from the node's read API; nothing is computed here but sums of integer
// fen (BigInt) and bar widths. Text from the ledger (names, memos) is only ever set as
// textContent, never as HTML: a memo cannot inject anything into the page.

import { Client, GrpcError } from "./grpcweb.js";
import { decode } from "./protobuf.js";
import { formatYuan, permille, sum, total } from "./money.js";
import { el, fingerprint, hex, replace } from "./dom.js";
import { fingerprintOfKey, ledgerFingerprint } from "./verify.js";
import { Watchdog } from "./watchdog.js";
import { renderWhole } from "./whole.js";
import { loadReports, renderReports } from "./reports.js";
import {
  SOURCE_COLORS, SOURCE_ORDER, kindName, language, objectionStateName, roleName, setLanguage, sourceName, stageName, t,
} from "./i18n.js";

// Explicit limits: the feed keeps the latest entries only; the page starts this far back.
const FEED_LIMIT = 200;
const FEED_BACKLOG = 50;
const REFRESH_DELAY_MS = 100;
const RECONNECT_MAX_MS = 10000;

// Relative to the page, so the node can be served under a path by a reverse proxy.
const api = new Client(".");

const watchdog = new Watchdog(
  api,
  {
    lookup: (keyIdHex) => view.keysById.get(keyIdHex),
    reload: async () => setKeys(await api.call("ListKeys", {})),
  },
  () => renderVerify(),
);

const view = {
  ledgerName: "",
  ledgerId: "",
  checkpoint: null,
  balances: null,
  projects: [],
  disbursements: [],
  keysById: new Map(), // key id hex → KeyInfo
  keysByFingerprint: new Map(),
  accounts: new Map(), // account id → AccountBalance
  feed: [], // newest first: { entry, envelope, body, error }
  seqByTxId: new Map(),
  live: false,
  reconnecting: false,
  streamError: null,
  error: null,
  updatedAt: null,
  genesis: null, // the decoded Genesis of entry 0
  policyChanges: [], // decoded policy_changed entries, oldest first
};

function when(ms) {
  const d = new Date(Number(ms));
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 123 permille → "12.3%", in integers. */
function percent(p) {
  return `${Math.floor(p / 10)}.${p % 10}%`;
}

function accountName(id) {
  const a = view.accounts.get(id);
  return a && a.name ? a.name : id;
}

function projectName(id) {
  const p = view.projects.find((x) => x.project_id === id);
  return p ? p.name : id;
}

function sourceChip(source) {
  return el("span", { class: "chip", style: `--c:${SOURCE_COLORS[source] || "#777"}` }, sourceName(source));
}

// ---------------------------------------------------------------------------------------------
// Header and summary.

function renderHeader() {
  document.title = `${t("title")} · ${view.ledgerName || ""}`;
  replace("title", t("title"));
  replace("ledger-name", view.ledgerName);
  replace("subtitle", t("subtitle"));
  replace("lang-switch", t("switchTo"));
  const size = view.checkpoint ? view.checkpoint.tree_size : null;
  // While the live stream is down, why it ended says more than a read that failed since.
  let status;
  if (view.reconnecting) {
    status = el("span", { class: "status", id: "stream-status" }, t("reconnecting"), view.streamError ? ` (${view.streamError})` : "");
  } else if (view.error) {
    status = el("span", { class: "status bad" }, `${t("error")}: ${view.error}`);
  } else if (view.live) {
    status = el("span", { class: "status live" }, `● ${t("live")}`);
  } else {
    status = el("span", { class: "status", id: "stream-status" }, t("connecting"));
  }
  replace(
    "status",
    status,
    size !== null ? el("span", {}, ` · ${size} ${t("entries")}`) : null,
    view.updatedAt ? el("span", { class: "muted" }, ` · ${t("updated")} ${when(view.updatedAt)}`) : null,
  );
  document.body.dataset.live = String(view.live);
}

function renderSummary() {
  if (!view.balances) return;
  const received = total(view.balances.received);
  const figures = view.projects.flatMap((p) => p.figures);
  const allocated = sum(figures.map((f) => f.allocated_fen));
  const spent = sum(figures.map((f) => f.spent_fen));
  const reserve = sum(
    view.balances.accounts.filter((a) => a.kind === "reserve").map((a) => total(a.balance)),
  );
  const card = (id, label, fen) =>
    el("div", { class: "card", id }, el("div", { class: "label" }, label), el("div", { class: "amount", "data-fen": fen }, formatYuan(fen)));
  replace(
    "summary",
    card("sum-received", t("received"), received),
    card("sum-allocated", t("allocated"), allocated),
    card("sum-spent", t("spent"), spent),
    card("sum-reserve", t("reserve"), reserve),
  );
}

// ---------------------------------------------------------------------------------------------
// Money by source: a stacked bar of the whole and one bar per source.

function renderTotals() {
  replace("totals-title", t("bySource"));
  replace("totals-note", t("bySourceNote"));
  if (!view.balances) return;
  const rows = view.balances.received
    .filter((a) => a.amount_fen > 0n)
    .sort((a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source));
  const whole = total(rows);
  if (rows.length === 0) {
    replace("totals", el("p", { class: "muted" }, t("noneYet")));
    return;
  }
  const largest = rows.reduce((m, a) => (a.amount_fen > m ? a.amount_fen : m), 0n);
  const stacked = el(
    "div",
    { class: "stack", role: "img", "aria-label": t("bySource") },
    rows.map((a) =>
      el("span", { style: `width:${permille(a.amount_fen, whole) / 10}%;background:${SOURCE_COLORS[a.source]}`, title: `${sourceName(a.source)} ${formatYuan(a.amount_fen)}` }),
    ),
  );
  const list = rows.map((a) =>
    el(
      "div",
      { class: "source-row", "data-source": a.source },
      el("div", { class: "source-name" }, sourceChip(a.source), el("span", { class: "share" }, percent(permille(a.amount_fen, whole)))),
      el("div", { class: "bar" }, el("span", { style: `width:${permille(a.amount_fen, largest) / 10}%;background:${SOURCE_COLORS[a.source]}` })),
      el("div", { class: "amount", "data-fen": a.amount_fen }, formatYuan(a.amount_fen)),
    ),
  );
  replace(
    "totals",
    stacked,
    list,
    el("div", { class: "source-row total" }, el("div", { class: "source-name" }, t("total")), el("div", { class: "spacer" }), el("div", { class: "amount", "data-fen": whole }, formatYuan(whole))),
  );
}

// ---------------------------------------------------------------------------------------------
// Projects: budget, allocated, spent, remaining per source.

function projectBar(f) {
  const scale = f.budget_fen > f.allocated_fen ? f.budget_fen : f.allocated_fen;
  const unfunded = f.budget_fen > f.allocated_fen ? f.budget_fen - f.allocated_fen : 0n;
  const part = (cls, fen, label) =>
    fen > 0n ? el("span", { class: cls, style: `width:${permille(fen, scale) / 10}%`, title: `${label} ${formatYuan(fen)}` }) : null;
  return el(
    "div",
    { class: "pbar", style: `--c:${SOURCE_COLORS[f.source] || "#777"}` },
    part("spent", f.spent_fen, t("spent")),
    part("held", f.held_fen, t("held")),
    part("remaining", f.remaining_fen, t("remaining")),
    part("unfunded", unfunded, t("unfunded")),
  );
}

function figureCells(f) {
  const cell = (cls, label, fen) =>
    el("div", { class: `fig ${cls}` }, el("span", { class: "label" }, label), el("span", { class: "amount", "data-fen": fen }, formatYuan(fen)));
  return el(
    "div",
    { class: "figs" },
    cell("budget", t("budget"), f.budget_fen),
    cell("allocated", t("allocatedShort"), f.allocated_fen),
    cell("spent", t("spent"), f.spent_fen),
    cell("remaining", t("remaining"), f.remaining_fen),
  );
}

function evaluationList(p) {
  if (!p.evaluations || p.evaluations.length === 0) return null;
  return el(
    "ul",
    { class: "evaluations" },
    el("li", { class: "muted" }, t("evaluations")),
    p.evaluations.map((e) =>
      el("li", { "data-satisfied": e.satisfied }, e.satisfied ? "✓ " : "✗ ", `${roleName(e.role)} ${approverName(e.key)}: ${t(e.satisfied ? "satisfied" : "notSatisfied")}${e.comment ? ` · ${e.comment}` : ""}`),
    ),
  );
}

function renderProjects() {
  replace("projects-title", t("projects"));
  if (view.projects.length === 0) {
    replace("projects", el("p", { class: "muted" }, t("noneYet")));
    return;
  }
  const legend = el(
    "div",
    { class: "legend" },
    el("span", { class: "key spent" }, t("spent")),
    el("span", { class: "key held" }, t("held")),
    el("span", { class: "key remaining" }, t("remaining")),
    el("span", { class: "key unfunded" }, t("unfunded")),
  );
  const cards = view.projects.map((p) => {
    const figures = [...p.figures].sort((a, b) => SOURCE_ORDER.indexOf(a.source) - SOURCE_ORDER.indexOf(b.source));
    const whole = {
      source: null,
      budget_fen: sum(figures.map((f) => f.budget_fen)),
      allocated_fen: sum(figures.map((f) => f.allocated_fen)),
      spent_fen: sum(figures.map((f) => f.spent_fen)),
      held_fen: sum(figures.map((f) => f.held_fen)),
      remaining_fen: sum(figures.map((f) => f.remaining_fen)),
    };
    return el(
      "article",
      { class: "project", "data-project": p.project_id },
      el("h3", {}, p.name || p.project_id, " ", el("span", { class: `stage stage-${p.stage}`, "data-stage": p.stage }, stageName(p.stage))),
      p.description ? el("p", { class: "muted" }, p.description) : null,
      evaluationList(p),
      p.returned && p.returned.length > 0
        ? el("div", { class: "returned" }, `${t("returned")}: `, el("span", { class: "amount", "data-fen": total(p.returned) }, formatYuan(total(p.returned))))
        : null,
      el("div", { class: "project-total" }, figureCells(whole)),
      figures.map((f) =>
        el("div", { class: "project-source", "data-source": f.source }, el("div", { class: "source-name" }, sourceChip(f.source)), projectBar(f), figureCells(f)),
      ),
    );
  });
  replace("projects", legend, cards);
}

// ---------------------------------------------------------------------------------------------
// Pending disbursements.

function approverName(fp) {
  const k = view.keysByFingerprint.get(fp);
  return k ? `${k.name} (${fp})` : fp;
}

function renderPending() {
  replace("pending-title", t("pending"));
  replace("pending-note", t("pendingNote"));
  const pending = view.disbursements.filter((d) => d.state === "pending");
  if (pending.length === 0) {
    replace("pending", el("p", { class: "muted" }, t("noneYet")));
    return;
  }
  replace(
    "pending",
    pending.map((d) =>
      el(
        "article",
        { class: "disbursement", "data-proposal": hex(d.proposal_tx_id) },
        el("div", { class: "row" }, el("strong", {}, projectName(d.project_id)), el("span", { class: "amount", "data-fen": total(d.amounts) }, formatYuan(total(d.amounts)))),
        d.memo ? el("div", {}, d.memo) : null,
        el("div", { class: "muted" }, `${t("payee")}: ${accountName(d.payee_account)} · ${t("proposedAt")} ${d.proposed_at} ${t("proposedAtEnd")}`),
        el("div", { class: "sources" }, d.amounts.map((a) => el("span", {}, sourceChip(a.source), " ", formatYuan(a.amount_fen)))),
        el(
          "div",
          { class: "approvals" },
          el("span", { class: "count" }, `${t("approvals")} ${d.approvals.length} / ${d.approvals_needed}`),
          el("ul", {}, d.approvals.map((fp) => el("li", {}, "✓ ", approverName(fp)))),
        ),
        noticeLine(d),
        objectionList(d),
      ),
    ),
  );
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** 公示: days left by the browser's clock against the node's notice end. */
function noticeLine(d) {
  const ends = Number(d.notice_ends_ms || 0n);
  if (ends === 0) return null;
  const left = ends - Date.now();
  const text = left > 0 ? `${t("onNotice")} ${Math.ceil(left / DAY_MS)} ${t("days")}` : t("noticeOver");
  return el("div", { class: `notice${left > 0 ? " running" : ""}`, "data-notice-ends": ends }, text);
}

function objectionList(d) {
  if (!d.objections || d.objections.length === 0) return null;
  return el(
    "ul",
    { class: "objections" },
    el("li", { class: "muted" }, t("objections")),
    d.objections.map((o) => {
      const due = Number(o.response_due_ms || 0n);
      const answered = Number(o.answered_ms || 0n);
      const overdue = answered > 0 ? answered > due : o.state === "open" && Date.now() > due;
      return el(
        "li",
        { class: `objection ${o.state}${overdue ? " overdue" : ""}`, "data-state": o.state, "data-overdue": overdue },
        `${roleName(o.filed_role)}: ${o.text} — ${objectionStateName(o.state)}`,
        overdue ? el("strong", { class: "bad" }, ` · ${t("overdue")}`) : el("span", { class: "muted" }, ` · ${t("answerDue")} ${when(due)}`),
        o.answer ? el("div", { class: "muted" }, `${t("answer")}: ${o.answer}`) : null,
      );
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The live feed.

function describe(body) {
  const k = body[body.kind];
  switch (body.kind) {
    case "genesis": return { text: k.ledger_name };
    case "key_registered": return { text: `${k.key ? k.key.name : ""} (${roleName(k.key ? k.key.role : "")})` };
    case "key_revoked": return { text: `${fingerprint(k.key_id)} ${k.reason}` };
    case "account_opened": return { text: k.name || k.account_id };
    case "project_created": return { text: k.name, fen: total(k.budget) };
    case "funds_received": return { text: `${sourceName(k.source)} → ${accountName(k.to_account)}${k.memo ? ` · ${k.memo}` : ""}`, fen: k.amount_fen };
    case "funds_allocated": return { text: `${accountName(k.from_account)} → ${projectName(k.project_id)}${k.memo ? ` · ${k.memo}` : ""}`, fen: total(k.amounts) };
    case "disbursement_proposed": return { text: `${projectName(k.project_id)} → ${accountName(k.payee_account)}${k.memo ? ` · ${k.memo}` : ""}`, fen: total(k.amounts) };
    case "disbursement_approved":
    case "disbursement_executed": return { text: refersTo(k.proposal_tx_id) };
    case "disbursement_rejected":
    case "disbursement_voided": return { text: `${refersTo(k.proposal_tx_id)} ${k.reason}` };
    case "entry_reversed": return { text: `${refersTo(k.target_tx_id)} ${k.reason}` };
    case "entry_annotated": return { text: `${refersTo(k.target_tx_id)} ${k.note}` };
    case "checkpoint_key_rotated": return { text: `${fingerprintOfKey(k.new_key)} ${k.reason}` };
    case "policy_changed": return { text: `${formatYuan(k.policy ? k.policy.approval_threshold_fen : 0n)} / ${k.policy ? k.policy.approval_window_days : 0} ${t("windowDays")} · ${t("noticeDays")} ${k.policy ? k.policy.notice_days : 0} · ${k.reason}` };
    case "objection_filed": return { text: `${refersTo(k.proposal_tx_id)} ${k.text}` };
    case "objection_answered": return { text: `${refersTo(k.objection_tx_id)} ${k.text}` };
    case "objection_resolved": return { text: `${refersTo(k.objection_tx_id)} ${objectionStateName(k.upheld ? "upheld" : "dismissed")} · ${k.reason}` };
    case "project_completed":
    case "project_accepted":
    case "project_closed": return { text: `${projectName(k.project_id)}${k.memo ? ` · ${k.memo}` : ""}` };
    case "project_evaluated": return { text: `${projectName(k.project_id)} ${t(k.satisfied ? "satisfied" : "notSatisfied")}${k.comment ? ` · ${k.comment}` : ""}` };
    // A kind this page does not know yet still shows, with its name, never as nothing.
    default: return { text: body.kind || "" };
  }
}

/** "→ #28" when the page has seen the entry a transaction refers to. */
function refersTo(txId) {
  const seq = view.seqByTxId.get(hex(txId));
  return seq === undefined ? "" : `→ #${seq}`;
}

function signerLine(sig) {
  const id = hex(sig.key_id);
  const key = view.keysById.get(id);
  const fp = fingerprint(sig.key_id);
  return el("li", {}, el("code", {}, fp), " ", key ? `${key.name} · ${roleName(key.role)}` : t("unknownKey"));
}

function documentHashes(body) {
  const k = body[body.kind] || {};
  const out = [];
  const add = (label, bytes) => {
    if (bytes && bytes.length) out.push(el("li", {}, `${label}: `, el("code", { class: "hash" }, hex(bytes))));
  };
  add(t("contract"), k.contract_hash);
  add(t("invoice"), k.invoice_hash);
  add(t("document"), k.document_hash);
  return out;
}

/** The entry a correction, approval or note refers to: "#12 Money received ¥1.00 …". */
function targetOf(body) {
  const k = body[body.kind] || {};
  return k.target_tx_id || k.proposal_tx_id || null;
}

async function fillTarget(slot, txId) {
  const known = view.feed.find((f) => f.body && hex(f.body.tx_id) === hex(txId));
  try {
    const item = known || decodeEntry(await api.call("GetEntry", { tx_id: txId }));
    const d = describe(item.body);
    slot.replaceChildren(`#${item.entry.sequence} ${kindName(item.body.kind)} ${d.fen !== undefined ? formatYuan(d.fen) : ""} ${d.text}`);
  } catch (e) {
    slot.replaceChildren(`${t("error")}: ${e.message}`);
  }
}

function feedItem(item) {
  const { entry, envelope, body } = item;
  if (!body) {
    return el("details", { class: "entry bad", "data-seq": entry.sequence }, el("summary", {}, `#${entry.sequence} ${t("undecodable")}: ${item.error}`));
  }
  const d = describe(body);
  const details = el(
    "dl",
    {},
    el("dt", {}, t("time")), el("dd", {}, when(entry.timestamp_ms)),
    el("dt", {}, t("txId")), el("dd", {}, el("code", {}, hex(body.tx_id))),
    el("dt", {}, t("entryHash")), el("dd", {}, el("code", { class: "hash" }, hex(entry.entry_hash))),
    el("dt", {}, t("signers")), el("dd", {}, el("ul", { class: "signers" }, envelope.signatures.map(signerLine))),
  );
  const docs = documentHashes(body);
  if (docs.length) details.append(el("dt", {}, t("documents")), el("dd", {}, el("ul", {}, docs)));
  const k = body[body.kind] || {};
  if (k.contributor_commitment && k.contributor_commitment.length) {
    details.append(el("dt", {}, t("contributor")), el("dd", {}, el("code", { class: "hash" }, hex(k.contributor_commitment))));
  }
  const target = targetOf(body);
  let slot = null;
  if (target) {
    slot = el("span", { class: "target" }, t("loading"));
    details.append(el("dt", {}, body.kind === "entry_reversed" ? t("reverses") : t("target")), el("dd", {}, el("code", {}, hex(target)), el("br"), slot));
  }
  const node = el(
    "details",
    { class: `entry kind-${body.kind}${item.hashOk ? "" : " bad"}`, "data-seq": entry.sequence, "data-kind": body.kind, "data-hash-ok": item.hashOk },
    el(
      "summary",
      {},
      el("span", { class: "seq" }, `#${entry.sequence}`),
      el("span", { class: "kind" }, kindName(body.kind)),
      d.fen !== undefined ? el("span", { class: "amount", "data-fen": d.fen }, formatYuan(d.fen)) : null,
      el("span", { class: "text" }, d.text),
      el("time", {}, when(entry.timestamp_ms)),
    ),
    details,
  );
  if (slot) {
    node.addEventListener("toggle", () => {
      if (node.open && !slot.dataset.filled) {
        slot.dataset.filled = "1";
        fillTarget(slot, target);
      }
    });
  }
  return node;
}

function renderFeed() {
  replace("feed-title", t("feed"));
  replace("feed-note", t("feedNote"));
  replace("feed", view.feed.map(feedItem));
}

function decodeEntry(entry) {
  try {
    const envelope = decode("ledger.v1.SignedEnvelope", entry.envelope);
    const body = decode("ledger.v1.TransactionBody", envelope.body);
    return { entry, envelope, body, error: null };
  } catch (e) {
    return { entry, envelope: null, body: null, error: e.message };
  }
}

function addToFeed(entry) {
  if (view.feed.length && entry.sequence <= view.feed[0].entry.sequence) return; // seen (reconnect)
  const item = decodeEntry(entry);
  watchdog.entry(item, view.feed[0]);
  if (item.body) view.seqByTxId.set(hex(item.body.tx_id), entry.sequence);
  view.feed.unshift(item);
  for (const dropped of view.feed.splice(FEED_LIMIT)) {
    if (dropped.body) view.seqByTxId.delete(hex(dropped.body.tx_id));
  }
  document.getElementById("feed").prepend(feedItem(item));
  const list = document.getElementById("feed");
  while (list.children.length > FEED_LIMIT) list.lastChild.remove();
  if (item.body && (item.body.kind === "key_registered" || item.body.kind === "key_revoked")) keysStale = true;
  if (item.body && item.body.kind === "policy_changed" && !view.policyChanges.some((c) => c.entry.sequence === entry.sequence)) {
    view.policyChanges.push(item);
  }
}

// ---------------------------------------------------------------------------------------------
// Verify it yourself.

function snapshotName() {
  return `${(view.ledgerId || "ledger").replace(/[/:"]/g, "_")}.snapshot`;
}

function renderVerify() {
  replace("alarm", watchdog.renderAlarm());
  replace("verify-title", t("verify"));
  const c = view.checkpoint;
  if (!c) return;
  // Computed here from the key, not the node's own fingerprint field.
  const fp = fingerprintOfKey(c.node_public_key);
  replace(
    "verify",
    el("h3", {}, t("checkpoint")),
    el(
      "dl",
      { class: "checkpoint" },
      el("dt", {}, t("treeSize")), el("dd", { id: "checkpoint-size" }, String(c.tree_size)),
      el("dt", {}, t("root")), el("dd", {}, el("code", { id: "checkpoint-root" }, c.root_hash.length >= 10 ? fingerprint(c.root_hash) : "")),
      el("dt", {}, t("ledgerFingerprint")), el("dd", {}, el("code", { id: "ledger-fingerprint" }, view.ledgerFingerprint || "")),
      el("dt", {}, t("nodeKey")), el("dd", {}, el("code", { id: "node-key" }, fp)),
    ),
    el("p", {}, el("a", { class: "download", href: "snapshot", download: snapshotName(), id: "snapshot-link" }, `⬇ ${t("download")}`)),
    watchdog.render(fp),
    renderGovernance(),
    el(
      "ol",
      { class: "steps" },
      el("li", {}, t("step1")),
      // Never the fingerprint this server serves: the resident copies it from the notice board.
      el("li", {}, t("step2"), el("pre", {}, el("code", {}, `verifier verify ${snapshotName()} --trust ${t("trustFromBoard")}`))),
      el("li", {}, t("step3")),
    ),
  );
}

/** Who may do what: the policy and witnesses of the genesis, and every key with its history. */
function renderGovernance() {
  const g = view.genesis;
  if (!g) return null;
  // The policy in force: the genesis's, or the last change's (each co-signed, listed below).
  const changes = view.policyChanges;
  const latest = changes.length ? changes[changes.length - 1].body.policy_changed.policy : null;
  const p = latest || g.policy || {};
  const witnesses = g.witnesses || [];
  const keys = [...view.keysById.values()].sort((a, b) => Number(BigInt(a.registered_at ?? 0) - BigInt(b.registered_at ?? 0)));
  return el(
    "details",
    { class: "governance", id: "governance" },
    el("summary", {}, t("governance")),
    el(
      "dl",
      {},
      el("dt", {}, t("approvalThreshold")), el("dd", {}, `${formatYuan(p.approval_threshold_fen ?? 0n)} / ${p.approval_window_days ?? 0} ${t("windowDays")} · ${p.approver_quorum ?? 0} ${t("approversNeeded")}`),
      el("dt", {}, t("adminQuorum")), el("dd", {}, String(p.admin_quorum ?? 0)),
      el("dt", {}, t("reserveRatio")), el("dd", {}, `${(p.reserve_ratio_bp ?? 0) / 100}%`),
      el("dt", {}, t("noticeDays")), el("dd", { id: "notice-days" }, `${p.notice_days ?? 0} · ${t("responseDays")} ${p.objection_response_days ?? 0}`),
      el("dt", {}, t("witnessesTitle")), el("dd", { id: "witness-quorum" }, `${g.witness_quorum ?? 0} / ${witnesses.length} ${t("witnessQuorum")}`),
    ),
    el("ul", { id: "witness-list" }, witnesses.map((w) => el("li", {}, el("code", {}, w.name), " ", fingerprintOfKey(w.ed25519)))),
    changes.length ? el("h4", {}, t("policyHistory")) : null,
    changes.length ? el("ul", { id: "policy-history" }, changes.map(policyChangeItem)) : null,
    el("h4", {}, t("keysTitle")),
    el("ul", { id: "key-list" }, keys.map((k) => el(
      "li",
      {},
      el("code", {}, k.fingerprint), " ", `${k.name} · ${roleName(k.role)} · ${t("registeredAt")} ${k.registered_at ?? 0}`,
      k.revoked ? ` · ${t("revokedAt")} ${k.revoked_at}` : "",
    ))),
  );
}

/** One co-signed policy change: when, what, why, and who signed it (names from ListKeys). */
function policyChangeItem(item) {
  const k = item.body.policy_changed;
  const p = k.policy || {};
  const signers = item.envelope.signatures.map((sig) => {
    const key = view.keysById.get(hex(sig.key_id));
    return key ? `${key.name} (${roleName(key.role)})` : fingerprint(sig.key_id);
  });
  return el(
    "li",
    { "data-sequence": item.entry.sequence },
    `#${item.entry.sequence} ${when(item.entry.timestamp_ms)} · ${formatYuan(p.approval_threshold_fen ?? 0n)} / ${p.approval_window_days ?? 0} ${t("windowDays")} · ${p.approver_quorum ?? 0} ${t("approversNeeded")} · ${t("noticeDays")} ${p.notice_days ?? 0} · ${k.reason}`,
    el("div", { class: "muted" }, `${t("signers")}: ${signers.join("、")}`),
  );
}

/** Every policy change from the beginning, through a Subscribe filtered to that kind. */
async function loadPolicyHistory() {
  const found = [];
  for await (const event of api.stream("Subscribe", { start: "START_FROM_BEGINNING", kinds: ["policy_changed"] })) {
    if (event.event === "entry") {
      const item = decodeEntry(event.entry);
      if (item.body) found.push(item);
    } else if (event.event === "caught_up") {
      break;
    }
  }
  view.policyChanges = found;
  renderVerify();
}

function renderAll() {
  renderHeader();
  renderSummary();
  renderTotals();
  renderProjects();
  renderPending();
  renderFeed();
  renderVerify();
}

// ---------------------------------------------------------------------------------------------
// Data.

let keysStale = true;
let refreshTimer = null;
let refreshing = false;
let refreshAgain = false;

function setKeys(keys) {
  keysStale = false;
  view.keysById = new Map(keys.keys.map((k) => [hex(k.key_id), k]));
  view.keysByFingerprint = new Map(keys.keys.map((k) => [k.fingerprint, k]));
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    const [balances, projects, disbursements, keys] = await Promise.all([
      api.call("GetBalances", {}),
      api.call("ListProjects", {}),
      api.call("ListDisbursements", {}),
      keysStale ? api.call("ListKeys", {}) : null,
    ]);
    view.balances = balances;
    view.projects = projects.projects;
    view.disbursements = disbursements.disbursements;
    view.accounts = new Map(balances.accounts.map((a) => [a.account_id, a]));
    if (keys) setKeys(keys);
    view.updatedAt = Date.now();
    view.error = null;
    renderHeader();
    renderSummary();
    renderTotals();
    renderProjects();
    renderPending();
    document.body.dataset.balancesSize = String(balances.tree_size);
  } catch (e) {
    view.error = e.message;
    renderHeader();
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      scheduleRefresh();
    }
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, REFRESH_DELAY_MS);
}

async function follow() {
  let delay = 500;
  for (;;) {
    const from = view.feed.length
      ? view.feed[0].entry.sequence + 1n
      : view.checkpoint && view.checkpoint.tree_size > BigInt(FEED_BACKLOG)
        ? view.checkpoint.tree_size - BigInt(FEED_BACKLOG)
        : 0n;
    try {
      for await (const event of api.stream("Subscribe", { start: "START_FROM_SEQUENCE", from_sequence: from })) {
        delay = 500;
        if (event.event === "entry") {
          addToFeed(event.entry);
        } else if (event.event === "checkpoint") {
          view.checkpoint = event.checkpoint;
          watchdog.checkpoint(event.checkpoint, view.feed);
          renderVerify();
          renderHeader();
          scheduleRefresh();
        } else if (event.event === "caught_up") {
          view.live = true;
          view.reconnecting = false;
          view.streamError = null;
          renderHeader();
        }
      }
    } catch (e) {
      if (!(e instanceof GrpcError)) console.error(e);
      // Shown beside "reconnecting" until live again: why the live stream ended (the node's
      // shutdown, its viewer limit), not the failed attempts to reconnect that follow.
      view.streamError ??= e.message;
    }
    view.live = false;
    view.reconnecting = true;
    renderHeader();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
}

async function start() {
  setLanguage(language());
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLanguage(language() === "zh" ? "en" : "zh");
    renderAll();
    renderWhole();
    renderReports();
  });
  renderAll();
  renderWhole();
  loadReports();
  for (;;) {
    try {
      const [checkpoint, genesis] = await Promise.all([
        api.call("GetCheckpoint", {}),
        api.call("GetEntry", { sequence: 0n }),
      ]);
      view.checkpoint = checkpoint;
      // Computed by this page from entry 0, for the resident to compare with the notice board.
      view.ledgerFingerprint = BigInt(genesis.sequence ?? 0) === 0n ? ledgerFingerprint(genesis) : "";
      const first = decodeEntry(genesis);
      if (first.body) {
        view.ledgerId = first.body.ledger_id;
        watchdog.ledgerId = view.ledgerId;
        view.ledgerName = first.body.kind === "genesis" ? first.body.genesis.ledger_name : first.body.ledger_id;
        if (first.body.kind === "genesis") {
          // The witnesses and their quorum come from entry 0, whose fingerprint the resident
          // compares with the notice board: not from anything else the node says.
          view.genesis = first.body.genesis;
          watchdog.witnesses = first.body.genesis.witnesses || [];
          watchdog.witnessQuorum = first.body.genesis.witness_quorum || 0;
          watchdog.ledgerFingerprint = view.ledgerFingerprint;
        }
      }
      break;
    } catch (e) {
      view.error = e.message;
      renderHeader();
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  view.error = null;
  renderAll();
  await refresh();
  loadPolicyHistory().catch((e) => console.error(e));
  follow();
}

start();
