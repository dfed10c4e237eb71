// gRPC-Web over fetch: unary calls and server streams (Subscribe), binary protobuf framing.
//
// The page calls the node on its own origin (the HTTP port serves the API too), so no CORS is
// involved; a dashboard on another origin can use this file against the gRPC port, which
// answers gRPC-Web for the origins allowed with --cors-origin.

import { decode, encode, DecodeError } from "./protobuf.js";
import { services } from "./gen/ledger_pb.js";

// A frame larger than this is refused before it is buffered: the node never sends one (its
// own message limit is smaller), so a larger length means a broken or hostile stream.
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const CODES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

export class GrpcError extends Error {
  constructor(code, message, reason = null) {
    super(message || CODES[code] || `status ${code}`);
    this.name = "GrpcError";
    this.code = code;
    this.codeName = CODES[code] || String(code);
    // The node's stable rejection reason (the ledger-reason metadata), when it gave one.
    this.reason = reason;
  }
}

function parseTrailers(bytes) {
  const text = new TextDecoder().decode(bytes);
  const out = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}

function statusError(fields) {
  const code = Number(fields["grpc-status"]);
  let message = fields["grpc-message"] || "";
  try {
    message = decodeURIComponent(message);
  } catch (_) {
    // Not percent-encoded after all; show it as it came.
  }
  return new GrpcError(Number.isInteger(code) ? code : 2, message, fields["ledger-reason"] || null);
}

function frame(message) {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

export class Client {
  /** `base`: where the node's gRPC-Web endpoint is: "." for the page's own, relative to the
   * page (so it also works under a reverse proxy's path), or "http://node:50051". */
  constructor(base = ".", service = "ledger.v1.Ledger") {
    if (!services[service]) throw new Error(`no service ${service} in the schema`);
    this.base = base;
    this.service = service;
  }

  /** One request, one response. */
  async call(method, request = {}, options = {}) {
    let response = null;
    for await (const message of this.stream(method, request, options)) {
      if (response !== null) throw new GrpcError(13, `${method} answered more than once`);
      response = message;
    }
    if (response === null) throw new GrpcError(13, `${method} answered nothing`);
    return response;
  }

  /** A server stream, as an async iterator of decoded messages. `options.signal` aborts it. */
  async *stream(method, request = {}, options = {}) {
    const m = services[this.service][method];
    if (!m) throw new Error(`${this.service} has no method ${method}`);
    let response;
    try {
      response = await fetch(`${this.base}/${this.service}/${method}`, {
        method: "POST",
        headers: {
          "content-type": "application/grpc-web+proto",
          "x-grpc-web": "1",
          accept: "application/grpc-web+proto",
        },
        body: frame(encode(m.input, request)),
        signal: options.signal,
        cache: "no-store",
      });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new GrpcError(14, `the node cannot be reached (${e.message})`);
    }
    if (!response.ok) throw new GrpcError(14, `the node answered HTTP ${response.status}`);
    // A call that fails before any message puts its status in the headers ("trailers-only").
    const headerStatus = response.headers.get("grpc-status");
    if (headerStatus !== null && headerStatus !== "0") {
      throw statusError({
        "grpc-status": headerStatus,
        "grpc-message": response.headers.get("grpc-message"),
        "ledger-reason": response.headers.get("ledger-reason"),
      });
    }
    const reader = response.body.getReader();
    let buffer = new Uint8Array(0);
    let trailers = headerStatus !== null ? { "grpc-status": headerStatus } : null;
    try {
      for (;;) {
        while (buffer.length >= 5) {
          const flags = buffer[0];
          const length = new DataView(buffer.buffer, buffer.byteOffset, 5).getUint32(1);
          if (length > MAX_FRAME_BYTES) throw new GrpcError(8, `a frame of ${length} bytes is over the limit`);
          if (buffer.length < 5 + length) break;
          const payload = buffer.slice(5, 5 + length);
          buffer = buffer.slice(5 + length);
          if (flags & 0x80) {
            trailers = parseTrailers(payload);
          } else if (flags === 0) {
            try {
              yield decode(m.output, payload);
            } catch (e) {
              if (e instanceof DecodeError) throw new GrpcError(13, `undecodable ${m.output}: ${e.message}`);
              throw e;
            }
          } else {
            throw new GrpcError(13, `unsupported frame flags ${flags} (compression is not negotiated)`);
          }
        }
        const { done, value } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buffer.length + value.length);
        joined.set(buffer);
        joined.set(value, buffer.length);
        buffer = joined;
      }
    } finally {
      // Leaving early (the caller stopped reading) closes the connection.
      reader.cancel().catch(() => {});
    }
    if (buffer.length !== 0) throw new GrpcError(14, "the stream was cut in the middle of a message");
    if (trailers === null) throw new GrpcError(14, "the stream ended without a status");
    if (trailers["grpc-status"] !== "0") throw statusError(trailers);
  }
}
