// The whole ledger verified off the page's thread by the project's own verifier: ledger-core
// and ledger-verifier (Rust) compiled to WebAssembly (gen/verifier.wasm, built by
// scripts/build-wasm.sh). The same rules as the node and `verifier verify` judge the snapshot.
//
// ABI (crates/ledger-wasm): input_buffer(len) -> ptr; write what the resident trusts (the
// fingerprint, then witness keys, one per line) + the snapshot there; verify(trust_len) ->
// report length; output_buffer() -> ptr; exit_code() -> 0|1|2. While verify runs, the module
// calls ledger.progress(done, total) after each chunk of entries.
//
// Messages in: {id} loads the verifier; {id, trust, url} or {id, trust, file} verifies.
// Messages out: {id, ready}, {id, phase: "read"|"verify", done, total}, then
// {id, report, exitCode, millis, entries} or {id, error}.

// The largest snapshot the page takes (about four million entries): WebAssembly has 4 GiB of
// memory, and the report and the fold need room too. Larger ledgers use the `verifier` program.
const MAX_SNAPSHOT_BYTES = 1 << 30;

let current = 0;
const imports = {
  ledger: {
    progress: (done, total) => self.postMessage({ id: current, phase: "verify", done, total }),
  },
};
// Loaded as soon as the worker starts, so a file picked later needs no network at all.
const exportsReady = WebAssembly.instantiateStreaming(fetch("./gen/verifier.wasm"), imports)
  .then(({ instance }) => instance.exports);

class TooLarge extends Error {}

/** The snapshot's bytes and its length, from the node (`url`) or a picked `file`. */
async function source({ url, file }) {
  if (file) return { stream: file.stream(), size: file.size };
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  // Content-Length is only a hint (a proxy may compress or lie): the reading below checks it.
  const length = Number(response.headers.get("content-length"));
  return { stream: response.body, size: Number.isSafeInteger(length) && length > 0 ? length : null };
}

/**
 * Reads `stream` into the module's input buffer after `trustBytes`, telling the page how much
 * is read. With a known size the bytes go straight into the buffer (one copy); otherwise they
 * are gathered first. Returns the total input length.
 */
async function readInto(x, id, trustBytes, { stream, size }) {
  const reader = stream.getReader();
  const chunks = [];
  let read = 0;
  let at = size === null ? -1 : x.input_buffer(trustBytes.length + size);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (read + value.length > MAX_SNAPSHOT_BYTES) throw new TooLarge();
    if (at >= 0 && read + value.length <= size) {
      // A fresh view each time: nothing here grows the memory, but a view is cheap.
      new Uint8Array(x.memory.buffer, at + trustBytes.length + read, value.length).set(value);
    } else {
      if (at >= 0) chunks.push(new Uint8Array(x.memory.buffer, at + trustBytes.length, read).slice());
      at = -1;
      chunks.push(value);
    }
    read += value.length;
    self.postMessage({ id, phase: "read", done: read, total: size ?? 0 });
  }
  if (at < 0 || read !== size) {
    // Unknown or wrong length: gather what was read, then copy it in once.
    if (at >= 0) chunks.push(new Uint8Array(x.memory.buffer, at + trustBytes.length, read).slice());
    at = x.input_buffer(trustBytes.length + read);
    let offset = at + trustBytes.length;
    for (const c of chunks) {
      new Uint8Array(x.memory.buffer, offset, c.length).set(c);
      offset += c.length;
    }
  }
  new Uint8Array(x.memory.buffer, at, trustBytes.length).set(trustBytes);
  return read;
}

// Fen above 2^53 would lose digits as JS numbers: such integers are read from their text.
const exact = (key, value, context) =>
  typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^\d+$/.test(context.source)
    ? BigInt(context.source) : value;

// One check at a time, in the order asked: they share the module's buffers.
let queue = Promise.resolve();
self.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};

async function handle(message) {
  const { id, trust } = message;
  current = id;
  try {
    const x = await exportsReady;
    if (trust === undefined) {
      self.postMessage({ id, ready: true });
      return;
    }
    const trustBytes = new TextEncoder().encode(trust);
    const given = await source(message);
    if (given.size !== null && given.size > MAX_SNAPSHOT_BYTES) throw new TooLarge();
    await readInto(x, id, trustBytes, given);
    const started = performance.now();
    const reportLength = x.verify(trustBytes.length);
    const millis = performance.now() - started;
    const report = new TextDecoder().decode(new Uint8Array(x.memory.buffer, x.output_buffer(), reportLength));
    self.postMessage({ id, report: JSON.parse(report, exact), exitCode: x.exit_code(), millis });
  } catch (error) {
    self.postMessage({ id, error: error instanceof TooLarge ? "too-large" : String(error) });
  }
}
