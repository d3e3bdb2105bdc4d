/**
 * Finding the key in what a server sends back, for `_redact.ts`. A match is the key's exact
 * bytes, or the key with any of its characters written as a JSON escape (`\u0073`, either hex
 * case, or `\/` for `/`): an SDK parses an error body as JSON, and the parser turns an escaped
 * echo back into the key, in `err.message` and `err.error`.
 *
 * The key is compared as bytes against code units (latin1, as header values are), so it never
 * becomes a string here.
 */

/** What replaces the key. */
export const REDACTED = '[redacted by agent-vault]';
const REDACTED_BYTES = new TextEncoder().encode(REDACTED);

const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const LOWER_U = 0x75;

/** Where a match that starts at `start` ends, or -1; `PARTIAL` when the input ends inside one. */
const PARTIAL = -2;

function matchAt(at: (index: number) => number, length: number, start: number, key: Uint8Array): number {
  let i = start;
  for (const expected of key) {
    if (i >= length) return PARTIAL;
    const unit = at(i);
    if (unit === expected) {
      i++;
      continue;
    }
    if (unit !== BACKSLASH) return -1;
    if (i + 1 >= length) return PARTIAL;
    const escape = at(i + 1);
    if (escape === SLASH && expected === SLASH) {
      i += 2;
      continue;
    }
    if (escape !== LOWER_U) return -1;
    let value = 0;
    for (let digit = 2; digit < 6; digit++) {
      if (i + digit >= length) return PARTIAL;
      const nibble = hexValue(at(i + digit));
      if (nibble < 0) return -1;
      value = value * 16 + nibble;
    }
    if (value !== expected) return -1;
    i += 6;
  }
  return i;
}

function hexValue(unit: number): number {
  if (unit >= 0x30 && unit <= 0x39) return unit - 0x30;
  const lower = unit | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

interface Scan {
  /** `[start, end)` of each match, flattened, left to right, not overlapping. */
  ranges: number[];
  /** Where a match cut off by the end of the input would begin (the input's length when none). */
  tail: number;
}

function scan(at: (index: number) => number, length: number, key: Uint8Array, next: (from: number) => number): Scan {
  const ranges: number[] = [];
  let tail = length;
  if (key.length === 0) return { ranges, tail };
  for (let start = next(0); start !== -1 && start < length;) {
    const end = matchAt(at, length, start, key);
    if (end >= 0) {
      ranges.push(start, end);
      start = next(end);
      continue;
    }
    if (end === PARTIAL && tail === length) tail = start;
    start = next(start + 1);
  }
  return { ranges, tail };
}

/** The matches in `bytes`: a plain loop, which V8 runs far faster here than `indexOf` calls and closures. */
function scanBytes(bytes: Uint8Array, key: Uint8Array): Scan {
  const ranges: number[] = [];
  const { length } = bytes;
  let tail = length;
  const first = key[0]!;
  const at = (index: number) => bytes[index]!;
  for (let start = 0; start < length;) {
    const unit = bytes[start];
    if (unit !== first && unit !== BACKSLASH) {
      start++;
      continue;
    }
    const end = matchAt(at, length, start, key);
    if (end >= 0) {
      ranges.push(start, end);
      start = end;
      continue;
    }
    if (end === PARTIAL && tail === length) tail = start;
    start++;
  }
  return { ranges, tail };
}

/** `value` with each match of `key` replaced; the same string when there is none. */
export function redactString(value: string, key: Uint8Array): string {
  if (key.length === 0 || value.length < key.length) return value;
  const { ranges } = scan((index) => value.charCodeAt(index), value.length, key, (from) => (from < value.length ? from : -1));
  if (ranges.length === 0) return value;
  let out = '';
  let from = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    out += value.slice(from, ranges[r]) + REDACTED;
    from = ranges[r + 1]!;
  }
  return out + value.slice(from);
}

/**
 * `bytes` with each match of `key` replaced (the same array when there is none and nothing is
 * held back). `holdBack`: stop where a match cut off by the end of `bytes` would begin, and say
 * where (`rest`), so that the caller can prepend those bytes to what comes next.
 */
export function redactBytes(bytes: Uint8Array, key: Uint8Array, holdBack = false): { bytes: Uint8Array; rest: number } {
  if (key.length === 0) return { bytes, rest: bytes.length };
  const { ranges, tail } = scanBytes(bytes, key);
  const rest = holdBack ? tail : bytes.length;
  if (ranges.length === 0) return { bytes: rest === bytes.length ? bytes : bytes.subarray(0, rest), rest };
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let r = 0; r < ranges.length && ranges[r + 1]! <= rest; r += 2) {
    parts.push(bytes.subarray(from, ranges[r]), REDACTED_BYTES);
    from = ranges[r + 1]!;
  }
  parts.push(bytes.subarray(from, rest));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return { bytes: out, rest };
}
