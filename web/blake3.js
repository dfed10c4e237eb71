// BLAKE3 (hash and derive_key modes), a direct port of the specification's reference
// implementation (github.com/BLAKE3-team/BLAKE3, reference_impl.rs). Pure JavaScript, so the
// page can check hashes over plain HTTP, where browsers withhold WebCrypto.
//
// Speed is not the point: the page hashes a few dozen entries and key ids. The end-to-end test
// compares it with the Rust blake3 crate on inputs of every chunk and tree shape up to 100 KiB.

const OUT_LEN = 32;
const BLOCK_LEN = 64;
const CHUNK_LEN = 1024;
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const DERIVE_KEY_CONTEXT = 32;
const DERIVE_KEY_MATERIAL = 64;

const IV = Uint32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const MSG_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

function g(s, a, b, c, d, mx, my) {
  s[a] = (s[a] + s[b] + mx) >>> 0;
  s[d] = ((s[d] ^ s[a]) >>> 16) | ((s[d] ^ s[a]) << 16);
  s[c] = (s[c] + s[d]) >>> 0;
  s[b] = ((s[b] ^ s[c]) >>> 12) | ((s[b] ^ s[c]) << 20);
  s[a] = (s[a] + s[b] + my) >>> 0;
  s[d] = ((s[d] ^ s[a]) >>> 8) | ((s[d] ^ s[a]) << 24);
  s[c] = (s[c] + s[d]) >>> 0;
  s[b] = ((s[b] ^ s[c]) >>> 7) | ((s[b] ^ s[c]) << 25);
}

function round(s, m) {
  g(s, 0, 4, 8, 12, m[0], m[1]);
  g(s, 1, 5, 9, 13, m[2], m[3]);
  g(s, 2, 6, 10, 14, m[4], m[5]);
  g(s, 3, 7, 11, 15, m[6], m[7]);
  g(s, 0, 5, 10, 15, m[8], m[9]);
  g(s, 1, 6, 11, 12, m[10], m[11]);
  g(s, 2, 7, 8, 13, m[12], m[13]);
  g(s, 3, 4, 9, 14, m[14], m[15]);
}

function compress(cv, blockWords, counter, blockLen, flags) {
  // Counters stay far below 2^53 here (a chunk per KiB); split into two 32-bit words.
  const s = new Uint32Array(16);
  s.set(cv, 0);
  s.set(IV.subarray(0, 4), 8);
  s[12] = counter >>> 0;
  s[13] = Math.floor(counter / 0x100000000) >>> 0;
  s[14] = blockLen;
  s[15] = flags;
  let m = Uint32Array.from(blockWords);
  for (let r = 0; r < 7; r++) {
    round(s, m);
    const permuted = new Uint32Array(16);
    for (let i = 0; i < 16; i++) permuted[i] = m[MSG_PERMUTATION[i]];
    m = permuted;
  }
  for (let i = 0; i < 8; i++) {
    s[i] ^= s[i + 8];
    s[i + 8] ^= cv[i];
  }
  return s;
}

function words(block) {
  const out = new Uint32Array(16);
  for (let i = 0; i < 16; i++) {
    out[i] = (block[4 * i] | (block[4 * i + 1] << 8) | (block[4 * i + 2] << 16) | (block[4 * i + 3] << 24)) >>> 0;
  }
  return out;
}

class Output {
  constructor(inputCv, blockWords, counter, blockLen, flags) {
    Object.assign(this, { inputCv, blockWords, counter, blockLen, flags });
  }

  chainingValue() {
    return compress(this.inputCv, this.blockWords, this.counter, this.blockLen, this.flags).slice(0, 8);
  }

  rootBytes() {
    const s = compress(this.inputCv, this.blockWords, 0, this.blockLen, this.flags | ROOT);
    const out = new Uint8Array(OUT_LEN);
    for (let i = 0; i < 8; i++) {
      out[4 * i] = s[i] & 0xff;
      out[4 * i + 1] = (s[i] >>> 8) & 0xff;
      out[4 * i + 2] = (s[i] >>> 16) & 0xff;
      out[4 * i + 3] = (s[i] >>> 24) & 0xff;
    }
    return out;
  }
}

class ChunkState {
  constructor(key, chunkCounter, flags) {
    this.cv = Uint32Array.from(key);
    this.chunkCounter = chunkCounter;
    this.block = new Uint8Array(BLOCK_LEN);
    this.blockLen = 0;
    this.blocksCompressed = 0;
    this.flags = flags;
  }

  len() {
    return BLOCK_LEN * this.blocksCompressed + this.blockLen;
  }

  startFlag() {
    return this.blocksCompressed === 0 ? CHUNK_START : 0;
  }

  update(input) {
    let at = 0;
    while (at < input.length) {
      if (this.blockLen === BLOCK_LEN) {
        this.cv = compress(this.cv, words(this.block), this.chunkCounter, BLOCK_LEN, this.flags | this.startFlag()).slice(0, 8);
        this.blocksCompressed += 1;
        this.block = new Uint8Array(BLOCK_LEN);
        this.blockLen = 0;
      }
      const take = Math.min(BLOCK_LEN - this.blockLen, input.length - at);
      this.block.set(input.subarray(at, at + take), this.blockLen);
      this.blockLen += take;
      at += take;
    }
  }

  output() {
    return new Output(this.cv, words(this.block), this.chunkCounter, this.blockLen, this.flags | this.startFlag() | CHUNK_END);
  }
}

function parentOutput(left, right, key, flags) {
  const block = new Uint32Array(16);
  block.set(left, 0);
  block.set(right, 8);
  return new Output(key, block, 0, BLOCK_LEN, PARENT | flags);
}

class Hasher {
  constructor(key, flags) {
    this.key = key;
    this.flags = flags;
    this.chunk = new ChunkState(key, 0, flags);
    this.stack = [];
  }

  addChunkCv(cv, totalChunks) {
    // Merge completed subtrees: as many as trailing zero bits of the chunk count.
    let n = totalChunks;
    let merged = cv;
    while (n % 2 === 0) {
      merged = parentOutput(this.stack.pop(), merged, this.key, this.flags).chainingValue();
      n /= 2;
    }
    this.stack.push(merged);
  }

  update(input) {
    let at = 0;
    while (at < input.length) {
      if (this.chunk.len() === CHUNK_LEN) {
        const cv = this.chunk.output().chainingValue();
        const total = this.chunk.chunkCounter + 1;
        this.addChunkCv(cv, total);
        this.chunk = new ChunkState(this.key, total, this.flags);
      }
      const take = Math.min(CHUNK_LEN - this.chunk.len(), input.length - at);
      this.chunk.update(input.subarray(at, at + take));
      at += take;
    }
    return this;
  }

  finalize() {
    let output = this.chunk.output();
    for (let i = this.stack.length - 1; i >= 0; i--) {
      output = parentOutput(this.stack[i], output.chainingValue(), this.key, this.flags);
    }
    return output.rootBytes();
  }
}

/** blake3(input): 32 bytes. */
export function hash(input) {
  return new Hasher(IV, 0).update(input).finalize();
}

/** blake3 derive_key(context, material): 32 bytes. */
export function deriveKey(context, material) {
  const contextKey = new Hasher(IV, DERIVE_KEY_CONTEXT).update(new TextEncoder().encode(context)).finalize();
  return new Hasher(words(Uint8Array.from([...contextKey, ...new Uint8Array(32)])).subarray(0, 8), DERIVE_KEY_MATERIAL)
    .update(material)
    .finalize();
}
