// Whole lines of a log read newest first, the way the file sink's `read` walks it: blocks from
// blocksBackward, each split by candidates with no needle. The source has no such function of
// its own (nothing but a test would call it).
import type { FileHandle } from 'node:fs/promises';
import { blocksBackward, candidates } from '../../src/audit/_lines.ts';

export async function* linesBackward(
  handle: FileHandle, size: number, chunkBytes?: number, maxLineBytes?: number,
): AsyncGenerator<string[]> {
  for await (const block of blocksBackward(handle, size, chunkBytes, maxLineBytes)) {
    const batch = [...candidates(block, [], maxLineBytes)];
    if (batch.length > 0) yield batch;
  }
}
