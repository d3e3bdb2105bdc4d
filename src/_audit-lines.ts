/**
 * Reading a JSON Lines file in large chunks, forwards (verification) or backwards (newest-first
 * reads), without ever holding more than a chunk and one line in memory. Lines come in batches,
 * one per chunk: an async iteration per line would cost more than the reading (about 1 µs each).
 */
import type { FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

/**
 * Complete lines in [start, end), oldest first, each with the offset just past its newline.
 * Bytes after the last newline (a torn or in-flight append) are not yielded; the caller sees
 * them as `end - next` of the last line.
 */
export async function* linesForward(
  handle: FileHandle, start: number, end: number, chunkBytes = CHUNK_BYTES,
): AsyncGenerator<{ line: Buffer; next: number }[]> {
  let carry: Buffer | undefined;
  let offset = start;
  while (offset < end) {
    const length = Math.min(chunkBytes, end - offset);
    const chunk = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(chunk, 0, length, offset);
    if (bytesRead === 0) break; // the file shrank under us
    const data = carry ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    const dataStart = offset - (carry?.length ?? 0);
    offset += bytesRead;
    let lineStart = 0;
    const batch: { line: Buffer; next: number }[] = [];
    for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
      batch.push({ line: data.subarray(lineStart, newline), next: dataStart + newline + 1 });
      lineStart = newline + 1;
    }
    carry = lineStart < data.length ? data.subarray(lineStart) : undefined;
    if (batch.length > 0) yield batch;
  }
}

/**
 * The file's first `size` bytes as blocks of whole lines, newest block first; each block starts
 * at a line's start and ends just after a newline. A last segment without a newline (a torn or
 * in-flight append) is left out. A reader searching for a substring can search a whole block at
 * once instead of line by line.
 */
export async function* blocksBackward(handle: FileHandle, size: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  let position = size;
  let skipPartial = true;
  while (position > 0) {
    const start = Math.max(0, position - chunkBytes);
    const chunk = Buffer.allocUnsafe(position - start);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, start);
    if (bytesRead !== chunk.length) return; // the file shrank under us: stop rather than misread
    position = start;
    let data = carry ? Buffer.concat([chunk, carry]) : chunk;
    if (skipPartial) {
      const last = data.lastIndexOf(NEWLINE);
      if (last === -1) {
        carry = undefined; // no complete line yet: all of it is the partial segment
        continue;
      }
      data = data.subarray(0, last + 1);
      skipPartial = false;
    }
    // The bytes before the first newline end a line that began in an earlier chunk.
    const first = position > 0 ? data.indexOf(NEWLINE) : -1;
    if (position > 0 && first === data.length - 1) {
      carry = data;
      continue;
    }
    carry = position > 0 ? data.subarray(0, first + 1) : undefined;
    yield data.subarray(first + 1);
  }
}

/**
 * Complete lines of the file's first `size` bytes, newest first, in batches. A last segment
 * without a newline (a torn or in-flight append) is skipped.
 */
export async function* linesBackward(handle: FileHandle, size: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<Buffer[]> {
  for await (const block of blocksBackward(handle, size, chunkBytes)) {
    const batch: Buffer[] = [];
    // The block ends with a newline; each line runs from after the previous newline to the next.
    for (let end = block.length - 1; end >= 0;) {
      const start = end > 0 ? block.lastIndexOf(NEWLINE, end - 1) + 1 : 0;
      if (end > start) batch.push(block.subarray(start, end));
      end = start - 1;
    }
    if (batch.length > 0) yield batch;
  }
}

/**
 * The lines of `block` (whole lines, each ending in a newline), newest first, that contain every
 * needle. The first needle is searched in the whole block, so a big log that a filter mostly
 * rejects is scanned at memchr speed, not decoded line by line.
 */
export function* candidates(block: Buffer, needles: string[]): Generator<string> {
  const [first, ...rest] = needles.map((needle) => Buffer.from(needle));
  let end = block.length - 1; // the newline ending the newest line not yet looked at
  while (end > 0) {
    const hit = first ? block.lastIndexOf(first, end - 1) : end - 1;
    if (hit === -1) return;
    const lineEnd = first ? block.indexOf(0x0a, hit) : end;
    const lineStart = block.lastIndexOf(0x0a, hit) + 1;
    end = lineStart - 1;
    if (lineEnd <= lineStart) continue;
    const line = block.subarray(lineStart, lineEnd);
    if (rest.every((needle) => line.includes(needle))) yield line.toString('utf8');
  }
}

/** The `time` of a block's first (oldest) line, or '' when it has none. */
export function timeOf(block: Buffer): string {
  const key = '"time":"';
  const lineEnd = block.indexOf(0x0a);
  const at = block.subarray(0, lineEnd).indexOf(key);
  return at === -1 ? '' : block.toString('latin1', at + key.length, at + key.length + 24);
}
