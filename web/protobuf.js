// The page's protobuf codec: reads and writes any ledger.v1 message from the field tables in
// gen/ledger_pb.js (generated from proto/).
//
// Why hand-written: the page must build without npm, and one small table-driven codec is easier
// to review than generated classes. Every malformed input throws DecodeError; nothing is guessed.
// 64-bit integers (all amounts are uint64 fen) are BigInt, never Number: a Number loses fen
// above 2^53.

import { messages, enums } from "./gen/ledger_pb.js";

export class DecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = "DecodeError";
  }
}

// Nesting bound: a hostile message cannot exhaust the stack.
const MAX_DEPTH = 32;
const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LEN = 2;
const WIRE_32 = 5;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

const NUMERIC = new Set([
  "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "uint32",
  "enum", "sfixed32", "sfixed64", "sint32", "sint64",
]);

function wireTypeOf(type) {
  switch (type) {
    case "double": case "fixed64": case "sfixed64": return WIRE_64;
    case "float": case "fixed32": case "sfixed32": return WIRE_32;
    case "string": case "bytes": case "message": return WIRE_LEN;
    default: return WIRE_VARINT;
  }
}

class Reader {
  constructor(bytes) {
    this.buf = bytes;
    this.pos = 0;
  }

  // Tags and lengths: at most 2^32 - 1, as a Number.
  smallVarint(what) {
    const v = this.varint();
    if (v > 0xffffffffn) throw new DecodeError(`${what} out of range`);
    return Number(v);
  }

  varint() {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new DecodeError("truncated varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new DecodeError("varint longer than 10 bytes");
  }

  take(n) {
    if (n > this.buf.length - this.pos) throw new DecodeError("truncated field");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wire) {
    switch (wire) {
      case WIRE_VARINT: this.varint(); break;
      case WIRE_64: this.take(8); break;
      case WIRE_LEN: this.take(this.smallVarint("length")); break;
      case WIRE_32: this.take(4); break;
      default: throw new DecodeError(`unsupported wire type ${wire}`);
    }
  }
}

function littleEndian(bytes) {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

function enumName(ref, n) {
  const table = enums[ref];
  // proto3 enums are open: a value this page does not know is kept as its number.
  return table && Object.prototype.hasOwnProperty.call(table, n) ? table[n] : n;
}

function readScalar(reader, field, wire) {
  const expected = wireTypeOf(field.type);
  if (wire !== expected) {
    throw new DecodeError(`field ${field.name}: wire type ${wire}, expected ${expected}`);
  }
  switch (field.type) {
    case "uint64": return reader.varint();
    case "int64": return BigInt.asIntN(64, reader.varint());
    case "sint64": { const v = reader.varint(); return (v >> 1n) ^ -(v & 1n); }
    case "uint32": return Number(BigInt.asUintN(32, reader.varint()));
    case "int32": return Number(BigInt.asIntN(32, reader.varint()));
    case "sint32": { const v = BigInt.asUintN(32, reader.varint()); return Number((v >> 1n) ^ -(v & 1n)); }
    case "bool": return reader.varint() !== 0n;
    case "enum": return enumName(field.ref, Number(BigInt.asIntN(32, reader.varint())));
    case "fixed64": return littleEndian(reader.take(8));
    case "sfixed64": return BigInt.asIntN(64, littleEndian(reader.take(8)));
    case "fixed32": return Number(littleEndian(reader.take(4)));
    case "sfixed32": return Number(BigInt.asIntN(32, littleEndian(reader.take(4))));
    case "double": return new DataView(reader.take(8).slice().buffer).getFloat64(0, true);
    case "float": return new DataView(reader.take(4).slice().buffer).getFloat32(0, true);
    case "string":
      try {
        return utf8.decode(reader.take(reader.smallVarint("length")));
      } catch (e) {
        if (e instanceof DecodeError) throw e;
        throw new DecodeError(`field ${field.name}: not UTF-8`);
      }
    case "bytes": return reader.take(reader.smallVarint("length")).slice();
    default: throw new DecodeError(`field ${field.name}: unknown type ${field.type}`);
  }
}

function defaultValue(field) {
  if (field.repeated) return [];
  switch (field.type) {
    case "message": return null;
    case "string": return "";
    case "bytes": return new Uint8Array(0);
    case "bool": return false;
    case "enum": return enumName(field.ref, 0);
    case "int64": case "uint64": case "sint64": case "fixed64": case "sfixed64": return 0n;
    default: return 0;
  }
}

function fieldsOf(typeName) {
  const fields = messages[typeName];
  if (!fields) throw new Error(`no message ${typeName} in the schema`);
  return fields;
}

/**
 * Decodes `bytes` (a Uint8Array) as the message `typeName` (e.g. "ledger.v1.Entry").
 * Absent fields get proto3 defaults; a oneof's chosen member's name is under the oneof's name
 * (e.g. body.kind === "funds_received"). Unknown fields are skipped, as protobuf requires.
 */
export function decode(typeName, bytes, depth = 0) {
  if (depth > MAX_DEPTH) throw new DecodeError("messages nested too deeply");
  const fields = fieldsOf(typeName);
  const byNumber = new Map(fields.map((f) => [f.no, f]));
  const out = {};
  for (const f of fields) {
    if (f.oneof) {
      if (!(f.oneof in out)) out[f.oneof] = null;
    } else {
      out[f.name] = defaultValue(f);
    }
  }
  const reader = new Reader(bytes);
  while (reader.pos < bytes.length) {
    const tag = reader.smallVarint("tag");
    const number = tag >>> 3;
    const wire = tag & 7;
    if (number === 0) throw new DecodeError("field number 0");
    const field = byNumber.get(number);
    if (!field) {
      reader.skip(wire);
      continue;
    }
    let value;
    if (field.type === "message") {
      if (wire !== WIRE_LEN) throw new DecodeError(`field ${field.name}: not length-delimited`);
      value = decode(field.ref, reader.take(reader.smallVarint("length")), depth + 1);
    } else if (field.repeated && wire === WIRE_LEN && NUMERIC.has(field.type)) {
      // Packed repeated scalars: proto3's default encoding.
      const packed = new Reader(reader.take(reader.smallVarint("length")));
      while (packed.pos < packed.buf.length) {
        out[field.name].push(readScalar(packed, field, wireTypeOf(field.type)));
      }
      continue;
    } else {
      value = readScalar(reader, field, wire);
    }
    if (field.repeated) {
      out[field.name].push(value);
    } else if (field.oneof) {
      const previous = out[field.oneof];
      if (previous && previous !== field.name) delete out[previous];
      out[field.oneof] = field.name;
      out[field.name] = value;
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

class Writer {
  constructor() {
    this.bytes = [];
  }

  varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  tag(number, wire) {
    this.varint((BigInt(number) << 3n) | BigInt(wire));
  }

  lengthDelimited(bytes) {
    this.varint(bytes.length);
    for (const b of bytes) this.bytes.push(b);
  }

  fixed(value, size) {
    let v = BigInt.asUintN(size * 8, BigInt(value));
    for (let i = 0; i < size; i++) {
      this.bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
  }
}

function enumNumber(ref, value) {
  if (typeof value === "number") return value;
  const table = enums[ref] || {};
  for (const [n, name] of Object.entries(table)) if (name === value) return Number(n);
  throw new Error(`${value} is not a value of ${ref}`);
}

function isDefault(field, value) {
  if (value === undefined || value === null) return true;
  switch (field.type) {
    case "message": return false;
    case "string": case "bytes": return value.length === 0;
    case "bool": return value === false;
    case "enum": return enumNumber(field.ref, value) === 0;
    default: return BigInt(value) === 0n;
  }
}

function writeScalar(w, field, value) {
  switch (field.type) {
    case "string": w.lengthDelimited(utf8Encoder.encode(value)); break;
    case "bytes": w.lengthDelimited(value); break;
    case "bool": w.varint(value ? 1 : 0); break;
    case "enum": w.varint(enumNumber(field.ref, value)); break;
    case "sint32": case "sint64": { const v = BigInt(value); w.varint((v << 1n) ^ (v < 0n ? -1n : 0n)); break; }
    case "fixed64": case "sfixed64": w.fixed(value, 8); break;
    case "fixed32": case "sfixed32": w.fixed(value, 4); break;
    case "double": case "float": throw new Error("this page never sends floating point");
    default: w.varint(value);
  }
}

/** Encodes `value` (a plain object) as the message `typeName`; returns a Uint8Array. */
export function encode(typeName, value = {}, depth = 0) {
  if (depth > MAX_DEPTH) throw new Error("messages nested too deeply");
  const w = new Writer();
  for (const field of fieldsOf(typeName)) {
    const v = value[field.name];
    const values = field.repeated ? (v || []) : [v];
    // A oneof member is sent even when it holds its default value: choosing it is the point.
    const present = field.oneof ? v !== undefined && v !== null : !field.repeated && !isDefault(field, v);
    if (!field.repeated && !present) continue;
    for (const item of values) {
      w.tag(field.no, wireTypeOf(field.type));
      if (field.type === "message") {
        w.lengthDelimited(encode(field.ref, item, depth + 1));
      } else {
        writeScalar(w, field, item);
      }
    }
  }
  return Uint8Array.from(w.bytes);
}
