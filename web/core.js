// The page's cryptography is the project's own Rust: BLAKE3 derive_key, SHA-256 and the
// Ed25519 acceptance rule (verify_strict) come from ledger-core, compiled to WebAssembly
// (gen/verifier.wasm, crates/ledger-wasm), so the node, `verifier` and this page share one
// implementation of each. WebAssembly needs no secure context: it works on plain-HTTP pages,
// where browsers withhold WebCrypto.

// The module asks for one import, the whole-ledger check's progress report, which these
// primitives never call.
const { instance } = await WebAssembly.instantiateStreaming(
  fetch(new URL("./gen/verifier.wasm", import.meta.url)),
  { ledger: { progress: () => {} } },
);
const x = instance.exports;
const encoder = new TextEncoder();

/** Writes the parts, one after another, into the module's input buffer. */
function put(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const at = x.input_buffer(length);
  // The view is made after input_buffer, which may have grown (and so moved) the memory.
  const input = new Uint8Array(x.memory.buffer, at, length);
  let offset = 0;
  for (const part of parts) {
    input.set(part, offset);
    offset += part.length;
  }
}

/** A copy of the first `length` bytes of the module's output buffer. */
const output = (length) => new Uint8Array(x.memory.buffer, x.output_buffer(), length).slice();

/** BLAKE3 derive_key(context, input): 32 bytes. */
export function deriveKey(context, input) {
  const c = encoder.encode(context);
  put(c, input);
  const length = x.derive_key(c.length);
  if (length !== 32) throw new Error("derive_key failed");
  return output(length);
}

/** SHA-256 of `input`: 32 bytes. */
export function sha256(input) {
  put(input);
  return output(x.sha256());
}

/** Whether `signature` by `publicKey` over `message` holds by the node's rule (verify_strict). */
export function verify(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  put(publicKey, signature, message);
  return x.ed25519_verify() === 1;
}
