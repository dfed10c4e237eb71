// The whole ledger verified off the page's thread by the project's own verifier: ledger-core
// and ledger-verifier (Rust) compiled to WebAssembly (gen/verifier.wasm, built by
// scripts/build-wasm.sh). The same rules as the node and `verifier verify` judge the snapshot.
//
// ABI (crates/ledger-wasm): input_buffer(len) -> ptr; write fingerprint + snapshot there;
// verify(trust_len) -> report length; output_buffer() -> ptr; exit_code() -> 0|1|2.

// Loaded as soon as the worker starts, so a file picked later needs no network at all.
const exportsReady = WebAssembly.instantiateStreaming(fetch("./gen/verifier.wasm"), {})
  .then(({ instance }) => instance.exports);

self.onmessage = async (event) => {
  const { id, trust, snapshot } = event.data;
  try {
    const x = await exportsReady;
    if (snapshot === undefined) {
      self.postMessage({ id, ready: true });
      return;
    }
    const trustBytes = new TextEncoder().encode(trust);
    const bytes = new Uint8Array(snapshot);
    const length = trustBytes.length + bytes.length;
    const at = x.input_buffer(length);
    // The view is made after input_buffer, which may have grown (and so moved) the memory.
    const input = new Uint8Array(x.memory.buffer, at, length);
    input.set(trustBytes, 0);
    input.set(bytes, trustBytes.length);
    const started = performance.now();
    const reportLength = x.verify(trustBytes.length);
    const millis = performance.now() - started;
    const report = new TextDecoder().decode(new Uint8Array(x.memory.buffer, x.output_buffer(), reportLength));
    // Fen above 2^53 would lose digits as JS numbers: such integers are read from their text.
    const exact = (key, value, context) =>
      typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^\d+$/.test(context.source)
        ? BigInt(context.source) : value;
    self.postMessage({ id, report: JSON.parse(report, exact), exitCode: x.exit_code(), millis });
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  }
};
