// The page's hand-written crypto against native code, in the same run:
//   node benches/page_crypto.mjs
// Ed25519: web/ed25519.js vs WebCrypto's (native) Ed25519; hashing: web/blake3.js vs native
// SHA-256 over the same 600-byte input (a typical entry). Ratios are what to compare across runs.

import { webcrypto } from "node:crypto";
import { createHash } from "node:crypto";
import { verify } from "../web/ed25519.js";
import { hash } from "../web/blake3.js";

const unhex = (h) => Uint8Array.from(Buffer.from(h, "hex"));
// RFC 8032 §7.1, test 1.
const publicKey = unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
const signature = unhex(
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
);
const empty = new Uint8Array(0);

async function time(label, rounds, fn) {
  await fn();
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await fn();
  const each = (performance.now() - start) / rounds;
  console.log(`${label.padEnd(34)} ${(each * 1000).toFixed(1).padStart(9)} µs`);
  return each;
}

if (!verify(publicKey, signature, empty)) throw new Error("ed25519.js rejects RFC 8032 test 1");
const key = await webcrypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
const js = await time("ed25519.js verify", 200, () => verify(publicKey, signature, empty));
const native = await time("WebCrypto Ed25519 verify (native)", 2000, () => webcrypto.subtle.verify("Ed25519", key, signature, empty));
console.log(`ratio ed25519.js / native: ${(js / native).toFixed(1)}×`);

const entry = new Uint8Array(600).map((_, i) => i % 251);
const b3 = await time("blake3.js, 600 B", 5000, () => hash(entry));
const sha = await time("SHA-256 (native), 600 B", 20000, () => createHash("sha256").update(entry).digest());
console.log(`ratio blake3.js / native SHA-256: ${(b3 / sha).toFixed(1)}×`);
