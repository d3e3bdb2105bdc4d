/**
 * Reading a JSON Lines file in large chunks, forwards (verification) or backwards (newest-first
 * reads), without ever holding more than a chunk and one line in memory.
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
): AsyncGenerator<{ line: Buffer; next: number }> {
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
    for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
      yield { line: data.subarray(lineStart, newline), next: dataStart + newline + 1 };
      lineStart = newline + 1;
    }
    carry = lineStart < data.length ? data.subarray(lineStart) : undefined;
  }
}

/**
 * Complete lines of the file's first `size` bytes, newest first. A last segment without a newline
 * (a torn or in-flight append) is skipped.
 */
export async function* linesBackward(handle: FileHandle, size: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  let position = size;
  let skipPartial = true;
  while (position > 0) {
    const start = Math.max(0, position - chunkBytes);
    const chunk = Buffer.allocUnsafe(position - start);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, start);
    if (bytesRead !== chunk.length) return; // the file shrank under us: stop rather than misread
    position = start;
    const data = carry ? Buffer.concat([chunk, carry]) : chunk;
    let end = data.length;
    if (skipPartial) {
      const newline = data.lastIndexOf(NEWLINE);
      if (newline === -1) {
        carry = position > 0 ? data : undefined;
        continue;
      }
      end = newline;
      skipPartial = false;
    }
    for (;;) {
      const newline = end > 0 ? data.lastIndexOf(NEWLINE, end - 1) : -1;
      if (newline === -1) {
        carry = data.subarray(0, end);
        break;
      }
      if (end > newline + 1) yield data.subarray(newline + 1, end);
      end = newline;
    }
  }
  if (!skipPartial && carry && carry.length > 0) yield carry;
}
