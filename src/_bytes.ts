/**
 * The one home for byte and encoding helpers (base64url lives beside the crypto, in crypto.ts,
 * because libsodium provides it). Nothing here is constant-time: compare secrets with
 * `constantTimeEqual` from crypto.ts, never with `equalBytes`.
 */
import { IntegrityError } from './errors.ts';

/** Append-only binary writer for record encodings (big-endian integers). */
export class ByteWriter {
  #chunks: Uint8Array[] = [];
  #length = 0;

  bytes(value: Uint8Array): this {
    this.#chunks.push(value);
    this.#length += value.length;
    return this;
  }

  u8(value: number): this {
    return this.bytes(Uint8Array.of(value));
  }

  u16(value: number): this {
    const out = new Uint8Array(2);
    new DataView(out.buffer).setUint16(0, value);
    return this.bytes(out);
  }

  u32(value: number): this {
    return this.bytes(u32(value));
  }

  /** Milliseconds since the epoch, as a 64-bit unsigned integer. */
  time(ms: number): this {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(ms));
    return this.bytes(out);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/** Bounds-checked reader: any read past the end is an IntegrityError naming the record. */
export class ByteReader {
  offset = 0;
  readonly data: Uint8Array;
  readonly what: string;
  readonly #view: DataView;

  constructor(data: Uint8Array, what: string) {
    this.data = data;
    this.what = what;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  #need(count: number): number {
    if (this.offset + count > this.data.length) throw malformed(this.what);
    const at = this.offset;
    this.offset += count;
    return at;
  }

  bytes(count: number): Uint8Array {
    const at = this.#need(count);
    return this.data.subarray(at, at + count);
  }

  rest(): Uint8Array {
    return this.bytes(this.data.length - this.offset);
  }

  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }

  u16(): number {
    return this.#view.getUint16(this.#need(2));
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4));
  }

  time(): number {
    const value = this.#view.getBigUint64(this.#need(8));
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(this.what);
    return Number(value);
  }
}

export function malformed(what: string): IntegrityError {
  return new IntegrityError(
    `${what} is malformed (truncated, extended or corrupted). Restore it from a backup or set it again.`,
  );
}

/** A 32-bit unsigned integer, big-endian. */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const writer = new ByteWriter();
  for (const part of parts) writer.bytes(part);
  return writer.finish();
}

/** Byte-for-byte equality of public data (`undefined` equals only itself). Not constant-time. */
export function equalBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// A table, because audit verification turns every record's hashes into hex.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The first and last 32-bit word at which `after` differs from `before` (equal lengths, a
 * multiple of 4 bytes, word-aligned), or undefined when none does. Exact, by bisection over
 * "is this range of words equal": native memcmp (Buffer#compare) where the runtime has Buffer,
 * else a word loop. Each word is compared about twice either way; what it saves is the loop
 * itself, which runs once per process (crypto.ts, decryptStackFootprint, over ~100 KiB) while it
 * is still interpreted: two linear walks there cost 2–4 ms of every agent's first request.
 */
export function changedWords(before: Uint8Array, after: Uint8Array): { first: number; last: number } | undefined {
  const same = wordRangesEqual(before, after);
  const words = before.length >>> 2;
  if (same(0, words)) return undefined;
  // Words [0, lo) are equal and [0, hi) are not: when hi = lo + 1, word lo is the first change.
  let lo = 0;
  let hi = words;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (same(lo, mid)) lo = mid;
    else hi = mid;
  }
  // Words [top, words) are equal and [bottom, words) are not: word bottom is the last change.
  let bottom = lo;
  let top = words;
  while (top - bottom > 1) {
    const mid = (bottom + top) >>> 1;
    if (same(mid, top)) top = mid;
    else bottom = mid;
  }
  return { first: lo, last: bottom };
}

function wordRangesEqual(a: Uint8Array, b: Uint8Array): (start: number, end: number) => boolean {
  const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  if (NodeBuffer) {
    const x = NodeBuffer.from(a.buffer, a.byteOffset, a.length);
    const y = NodeBuffer.from(b.buffer, b.byteOffset, b.length);
    return (start, end) => x.compare(y, start * 4, end * 4, start * 4, end * 4) === 0;
  }
  const x = new Int32Array(a.buffer, a.byteOffset, a.length >>> 2);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
  return (start, end) => {
    for (let i = start; i < end; i++) if (x[i] !== y[i]) return false;
    return true;
  };
}

/** Lower-case hex. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

/** Lower-case hex of `bytes`, written as ASCII into `out` from `at` (no string made); returns where it ends. */
export function hexInto(bytes: Uint8Array, out: Uint8Array, at: number): number {
  for (let i = 0; i < bytes.length; i++) {
    const hex = HEX[bytes[i]!]!;
    out[at++] = hex.charCodeAt(0);
    out[at++] = hex.charCodeAt(1);
  }
  return at;
}

/** Lower-case hex of even length only: callers check the text's shape first (e.g. /^[0-9a-f]{64}$/). */
export function hexToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (nibble(text.charCodeAt(2 * i)) << 4) | nibble(text.charCodeAt(2 * i + 1));
  }
  return out;
}

function nibble(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

/**
 * A zeroed array for secret bytes (a key, a data key), whose memory stays where it is until it is
 * wiped. `new Uint8Array(n)` keeps arrays of up to 64 bytes inside the V8 heap, where the garbage
 * collector moves them (leaving the old bytes behind, unzeroed) and where the first `.buffer` or
 * `subarray()` copies them out (leaving the original behind): each request then left one copy of
 * a short key in the heap. An explicit ArrayBuffer is always allocated outside the heap.
 */
export function secretBytes(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(length));
}
