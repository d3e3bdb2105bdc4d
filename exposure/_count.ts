/**
 * Counting copies of a secret in raw memory: full copies and fragments, in each encoding a
 * process may hold it in (ASCII/UTF-8 and UTF-16LE for strings, raw bytes for keys).
 *
 * A fragment is a run of at least MIN_FRAGMENT consecutive characters of the secret. Every such
 * run contains one of the secret's 8-character windows taken at a stride of 8, so only those
 * windows are searched, then each hit is extended both ways to its full length.
 */

export const MIN_FRAGMENT = 16;
const WINDOW = 8;

export interface Needle {
  /** What it is, for the report: `provider key`, `agent token`, `agent key`. */
  label: string;
  /** The secret's bytes in this encoding. */
  bytes: Buffer;
  /** Bytes per character: 1 for ASCII and raw bytes, 2 for UTF-16LE. */
  unit: 1 | 2;
  /** Where the part worth searching starts (skips a fixed prefix such as `avt_`), in characters. */
  skip: number;
}

export interface Copies {
  /** Complete copies. */
  full: number;
  /** Runs of MIN_FRAGMENT or more characters that are not part of a complete copy. */
  partial: number;
}

/** Needles for a string secret: ASCII and UTF-16LE. */
export function stringNeedles(label: string, value: string, skip = 0): Needle[] {
  return [
    { label, bytes: Buffer.from(value, 'latin1'), unit: 1, skip },
    { label, bytes: Buffer.from(value, 'utf16le'), unit: 2, skip },
  ];
}

/** A needle for raw key bytes. */
export function bytesNeedle(label: string, bytes: Uint8Array): Needle {
  return { label, bytes: Buffer.from(bytes), unit: 1, skip: 0 };
}

/** Count copies of one needle (see `countAll`). */
export function countCopies(regions: Iterable<Buffer>, needle: Needle): Copies {
  return countAll(regions, [needle])[0]!;
}

/**
 * Count copies of each needle across memory `regions` (each one contiguous range; a copy never
 * spans two), in one pass: a bitmap of the windows' first three bytes picks candidate positions,
 * each candidate is compared with its windows, and each hit is extended both ways as far as the
 * bytes match the secret. A run found through several windows counts once.
 */
export function countAll(regions: Iterable<Buffer>, needles: Needle[]): Copies[] {
  const results = needles.map((): Copies => ({ full: 0, partial: 0 }));
  const bitmap = new Uint8Array(1 << 21);
  const windows = new Map<number, { needle: number; offset: number; size: number }[]>();
  needles.forEach(({ bytes, unit, skip }, needle) => {
    const size = WINDOW * unit;
    for (let char = skip; (char + WINDOW) * unit <= bytes.length; char += WINDOW) {
      const offset = char * unit;
      const prefix = bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16);
      bitmap[prefix >>> 3]! |= 1 << (prefix & 7);
      windows.set(prefix, [...(windows.get(prefix) ?? []), { needle, offset, size }]);
    }
  });
  for (const buffer of regions) {
    // A plain Uint8Array: element access on it is what V8 optimises best.
    const region = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
    const seen = needles.map(() => new Set<number>());
    const length = region.length;
    if (length < WINDOW) continue;
    let prefix = (region[0]! << 8) | (region[1]! << 16);
    for (let at = 0; at + WINDOW <= length; at++) {
      prefix = (prefix >>> 8) | (region[at + 2]! << 16);
      if ((bitmap[prefix >>> 3]! & (1 << (prefix & 7))) === 0) continue;
      for (const { needle, offset, size } of windows.get(prefix)!) {
        const { bytes, unit } = needles[needle]!;
        if (at + size > length || !matches(region, at, bytes, offset, size)) continue;
        // Extend left and right while memory matches the secret.
        let left = 0;
        while (left < offset && at - left - 1 >= 0 && region[at - left - 1] === bytes[offset - left - 1]) left++;
        let right = offset + size;
        let end = at + size;
        while (right < bytes.length && end < length && region[end] === bytes[right]) {
          right++;
          end++;
        }
        // Only whole characters count.
        const startChar = Math.ceil((offset - left) / unit);
        const endChar = Math.floor(right / unit);
        const start = at - (offset - startChar * unit);
        if (seen[needle]!.has(start)) continue;
        seen[needle]!.add(start);
        const chars = endChar - startChar;
        if (chars === bytes.length / unit) results[needle]!.full++;
        else if (chars >= MIN_FRAGMENT) results[needle]!.partial++;
      }
    }
  }
  return results;
}

function matches(region: Uint8Array, at: number, bytes: Buffer, offset: number, size: number): boolean {
  for (let i = 3; i < size; i++) if (region[at + i] !== bytes[offset + i]) return false;
  return true;
}
