// What the page checks itself instead of taking the node's word, by the rules of
// docs/PROTOCOL.md: the node key's fingerprint (computed here from the key, to compare with the
// notice board), the checkpoint's signature, the hash chain of the entries it shows, that the
// newest of them is in the signed tree (an inclusion proof), and that every checkpoint it sees
// extends the one before (a consistency proof: history was not rewritten while the page was
// open). It does not replay the fund rules: that is what `verifier` does with a snapshot.
// The hashes and signatures are ledger-core's own (core.js: Rust compiled to WebAssembly), so
// they work on plain-HTTP pages too and follow exactly the node's acceptance rules.

import { deriveKey, sha256, verify as ed25519Verify } from "./core.js";

const ENTRY_CONTEXT = "sunshine-ledger v1 entry";
const KEY_ID_CONTEXT = "sunshine-ledger v1 key id";

export class VerifyError extends Error {
  constructor(message) {
    super(message);
    this.name = "VerifyError";
  }
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u64(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)));
  return out;
}

const PAYLOAD_TYPE = "application/vnd.sunshine-ledger.transaction.v1+protobuf";

/** key_id = derive(key id context, public key). */
export function keyIdOf(publicKey) {
  return deriveKey(KEY_ID_CONTEXT, publicKey);
}

/** Key fingerprint as `ledger` and `verifier` print it, from the 32-byte public key. */
export function fingerprintOfKey(publicKey) {
  const id = keyIdOf(publicKey);
  const h = Array.from(id.subarray(0, 10), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  return [0, 4, 8, 12, 16].map((i) => h.slice(i, i + 4)).join("-");
}

/** encoding(entry) = u64 seq || prev[32] || i64 ts || u32 len || envelope (PROTOCOL.md §2). */
export function entryEncoding(entry) {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, entry.envelope.length);
  return concat(u64(entry.sequence), entry.prev_hash, u64(entry.timestamp_ms), len, entry.envelope);
}

/**
 * The ledger fingerprint (PROTOCOL.md §2.1), computed here from entry 0 (the genesis): the first
 * 16 bytes of derive("sunshine-ledger v2 ledger fingerprint", encoding(entry 0)), eight groups of
 * four upper-case hex digits. A resident compares it with the notice board.
 */
export function ledgerFingerprint(genesis) {
  const h = deriveKey("sunshine-ledger v2 ledger fingerprint", entryEncoding(genesis)).subarray(0, 16);
  const hex = Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  return [0, 4, 8, 12, 16, 20, 24, 28].map((i) => hex.slice(i, i + 4)).join("-");
}

/** entry_hash = derive(entry context, encoding(entry)). */
export function entryHash(entry) {
  return deriveKey(ENTRY_CONTEXT, entryEncoding(entry));
}

// The Merkle tree is RFC 6962's with SHA-256; an entry's leaf data is its encoding.
/** The RFC 6962 leaf hash of an entry: SHA-256(0x00 || encoding(entry)). */
export const entryLeafHash = (entry) => sha256(concat(Uint8Array.of(0), entryEncoding(entry)));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

// Tree sizes and indices as Numbers: exact below 2^53 entries.
function small(v, what) {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new VerifyError(`${what} out of range`);
  return n;
}

/** RFC 9162 §2.1.3.2. */
export function verifyInclusion(index, size, leaf, proof, root) {
  let fn = small(index, "index");
  let sn = small(size, "tree size") - 1;
  if (fn > sn) return false;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

function isPowerOfTwo(n) {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

/** RFC 9162 §2.1.4.2. */
export function verifyConsistency(size1, size2, proof, root1, root2) {
  const first = small(size1, "old size");
  const second = small(size2, "new size");
  if (first > second) return false;
  if (first === second) return proof.length === 0 && equalBytes(root1, root2);
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [root1, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
}

function fromBase64(text) {
  let binary;
  try {
    binary = atob(text);
  } catch (_) {
    throw new VerifyError("bad base64 in the checkpoint");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Parses a signed-note checkpoint (PROTOCOL.md §4). Throws VerifyError on any deviation. */
export function parseCheckpoint(text) {
  const split = text.indexOf("\n\n");
  if (split < 0 || !text.endsWith("\n")) throw new VerifyError("the checkpoint is not a signed note");
  const body = text.slice(0, split + 1);
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) throw new VerifyError("the checkpoint has fewer than three lines");
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new VerifyError("the checkpoint's size is not a number");
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new VerifyError("the checkpoint's root is not 32 bytes");
  const signatures = [];
  const cosignatures = [];
  for (const line of text.slice(split + 2, -1).split("\n")) {
    const m = /^— (\S+) (\S+)$/.exec(line);
    if (!m) throw new VerifyError("a signature line of the checkpoint is malformed");
    const raw = fromBase64(m[2]);
    if (raw.length === 68) {
      signatures.push({ name: m[1], keyHash: raw.subarray(0, 4), signature: raw.subarray(4) });
    } else if (raw.length === 76) {
      // C2SP tlog-cosignature/v1: key hash, big-endian u64 timestamp, signature.
      const time = new DataView(raw.buffer, raw.byteOffset + 4, 8).getBigUint64(0);
      cosignatures.push({ name: m[1], keyHash: raw.subarray(0, 4), time, signature: raw.subarray(12) });
    } // any other type is ignored, as signed-note says
  }
  return { origin: lines[0], size: BigInt(lines[1]), root, body, signatures, cosignatures };
}

/**
 * Whether `witness` ({ name, ed25519 }) validly cosigned the parsed checkpoint (C2SP
 * tlog-cosignature/v1): a line with its name and key hash SHA-256(name || "\n" || 0x04 ||
 * key)[0:4], signing "cosignature/v1\ntime <t>\n" followed by the note.
 */
export function verifyCosignature(parsed, witness) {
  const enc = new TextEncoder();
  const keyHash = sha256(concat(enc.encode(witness.name), Uint8Array.of(0x0a, 0x04), witness.ed25519)).subarray(0, 4);
  return parsed.cosignatures.some((c) => c.name === witness.name && equalBytes(c.keyHash, keyHash)
    && c.time < 2n ** 63n
    && ed25519Verify(witness.ed25519, c.signature, enc.encode(`cosignature/v1\ntime ${c.time}\n${parsed.body}`)));
}

/**
 * Checks the node's signature on a parsed checkpoint with its public key: the signature line
 * named after the origin whose key hash is SHA-256(name || "\n" || 0x01 || key)[0:4].
 */
export function verifyCheckpointSignature(parsed, publicKey) {
  const name = new TextEncoder().encode(parsed.origin);
  const keyHash = sha256(concat(name, Uint8Array.of(0x0a, 0x01), publicKey)).subarray(0, 4);
  const line = parsed.signatures.find((s) => s.name === parsed.origin && equalBytes(s.keyHash, keyHash));
  return line !== undefined && ed25519Verify(publicKey, line.signature, new TextEncoder().encode(parsed.body));
}

/** DSSE v1 PAE (PROTOCOL.md §1.1): what a transaction signature covers. */
export function pae(body) {
  const head = new TextEncoder().encode(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${body.length} `);
  return concat(head, body);
}

/** One transaction signature, by the node's acceptance rule (verify_strict over the PAE). */
export function verifyBodySignature(publicKey, signature, body) {
  return ed25519Verify(publicKey, signature, pae(body));
}
