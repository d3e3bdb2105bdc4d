/**
 * Reading a JSON Lines file in large chunks, forwards (verification) or backwards (newest-first
 * reads), without ever holding more than a chunk and one line in memory. Lines come in batches,
 * one per chunk: an async iteration per line would cost more than the reading (about 1 µs each).
 *
 * A line longer than `maxLineBytes` (default MAX_LINE_BYTES, far more than any record) is skipped
 * as it streams past, never gathered: a hostile 1 GB line costs one pass over its bytes and no
 * more memory than a short one.
 */
import type { FileHandle } from 'node:fs/promises';
import { MAX_LINE_BYTES } from './_chain.ts';

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;
const NO_BYTES = Buffer.alloc(0);

/** One complete line read forwards. */
export interface ForwardLine {
  /** Its bytes, without the newline; empty when `overlong` is set. */
  line: Buffer;
  /** The offset just past its newline. */
  next: number;
  /** Set to the line's length when it is longer than `maxLineBytes`: its bytes were skipped, not kept. */
  overlong?: number;
}

/**
 * Complete lines in [start, end), oldest first. Bytes after the last newline (a torn or
 * in-flight append) are not yielded, and the caller sees them as `end - next` of the last line;
 * unless there are more than `maxLineBytes` of them, which no torn record can be: they come as a
 * last, overlong line whose `next` is where the reading stopped.
 *
 * The lines of a batch are views of one buffer that the next batch reuses: copy a line to keep it.
 */
export async function* linesForward(
  handle: FileHandle, start: number, end: number, chunkBytes = CHUNK_BYTES, maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<ForwardLine[]> {
  if (start >= end) return;
  // A chunk is read in after the carry: the start of a line begun in an earlier chunk.
  const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, end - start) + maxLineBytes);
  let carried = 0;
  let overlongFrom = -1; // where an overlong line began, while its end is looked for
  let offset = start;
  while (offset < end) {
    const { bytesRead } = await handle.read(buffer, carried, Math.min(chunkBytes, end - offset), offset);
    if (bytesRead === 0) break; // the file shrank under us
    const data = buffer.subarray(0, carried + bytesRead);
    const dataStart = offset - carried;
    offset += bytesRead;
    const batch: ForwardLine[] = [];
    let lineStart = 0;
    if (overlongFrom !== -1) {
      const newline = data.indexOf(NEWLINE);
      if (newline === -1) continue;
      batch.push({ line: NO_BYTES, next: dataStart + newline + 1, overlong: dataStart + newline - overlongFrom });
      overlongFrom = -1;
      lineStart = newline + 1;
    }
    for (let newline = data.indexOf(NEWLINE, lineStart); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
      const next = dataStart + newline + 1;
      batch.push(newline - lineStart > maxLineBytes
        ? { line: NO_BYTES, next, overlong: newline - lineStart }
        : { line: data.subarray(lineStart, newline), next });
      lineStart = newline + 1;
    }
    carried = data.length - lineStart;
    if (carried > maxLineBytes) {
      overlongFrom = dataStart + lineStart;
      carried = 0;
    }
    if (batch.length > 0) yield batch;
    // Only now, the batch's lines being done with, may the carry overwrite them.
    if (carried > 0) buffer.copyWithin(0, lineStart, data.length);
  }
  if (overlongFrom !== -1) yield [{ line: NO_BYTES, next: offset, overlong: offset - overlongFrom }];
}

/**
 * The file's first `size` bytes as blocks of whole lines, newest block first; each block starts
 * at a line's start and ends just after a newline. A last segment without a newline (a torn or
 * in-flight append) is left out, and so is a line longer than `maxLineBytes` that does not fit in
 * one chunk (a shorter overlong line may be in a block: `candidates` skips it). A reader
 * searching for a substring can search a whole block at once instead of line by line.
 *
 * Each block is a view of one buffer that the next block reuses: copy what is to be kept.
 */
export async function* blocksBackward(
  handle: FileHandle, size: number, chunkBytes = CHUNK_BYTES, maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<Buffer> {
  if (size <= 0) return;
  // A chunk is read in before the carry: the end (with its newline) of a line that began in an
  // earlier chunk, which the chunk will complete.
  const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, size) + maxLineBytes + 1);
  let carried = 0;
  let position = size;
  let skipPartial = true;
  while (position > 0) {
    const start = Math.max(0, position - chunkBytes);
    const length = position - start;
    buffer.copyWithin(length, 0, carried);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    if (bytesRead !== length) return; // the file shrank under us: stop rather than misread
    position = start;
    let data = buffer.subarray(0, length + carried);
    if (skipPartial) {
      const last = data.lastIndexOf(NEWLINE);
      if (last === -1) continue; // no complete line yet: all of it is the partial segment
      data = data.subarray(0, last + 1);
      skipPartial = false;
    }
    // The bytes before the first newline end a line that began in an earlier chunk.
    const first = position > 0 ? data.indexOf(NEWLINE) : -1;
    carried = first + 1;
    if (carried - 1 > maxLineBytes) {
      // Too long to be a record: drop what we have of it, and the rest up to the newline before it.
      carried = 0;
      skipPartial = true;
    }
    if (first + 1 < data.length) yield data.subarray(first + 1);
  }
}

/**
 * The lines of `block` (whole lines, each ending in a newline), newest first, that contain every
 * needle and are no longer than `maxLineBytes`. The first needle is searched in the whole block,
 * so a big log that a filter mostly rejects is scanned at memchr speed, not decoded line by line.
 */
export function* candidates(block: Buffer, needles: string[], maxLineBytes = MAX_LINE_BYTES): Generator<string> {
  const [first, ...rest] = needles.map((needle) => Buffer.from(needle));
  let end = block.length - 1; // the newline ending the newest line not yet looked at
  while (end > 0) {
    const hit = first ? block.lastIndexOf(first, end - 1) : end - 1;
    if (hit === -1) return;
    const lineEnd = first ? block.indexOf(0x0a, hit) : end;
    const lineStart = block.lastIndexOf(0x0a, hit) + 1;
    end = lineStart - 1;
    if (lineEnd <= lineStart || lineEnd - lineStart > maxLineBytes) continue;
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
