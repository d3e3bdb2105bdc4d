/**
 * The file sink's dealings with the file system that are not appending itself: reading back the
 * last record, opening the log for reading, and turning errno codes into AuditErrors that say
 * what to do (with the advice shared with the file backend, in ../_fs.ts).
 */
import fs from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { genesisHash, lineHash, MAX_LINE_BYTES, parseLine } from './_chain.ts';
import { AuditError, VaultError } from '../errors.ts';
import { describeFsError, errnoCode, fileKind, fsAdvice, SAFE_READ_FLAGS, unsafeBecause } from '../_fs.ts';

/** The last complete record before `size`: its end offset, seq and hash. Fails closed on damage. */
export function readTail(fd: number, size: number, vaultId: string, path: string): { end: number; seq: number; hash: string } {
  const empty = { end: 0, seq: 0, hash: genesisHash(vaultId) };
  if (size === 0) return empty;
  // A torn segment is a prefix of one record, so the last record and it fit in this window.
  const window = Math.min(size, 2 * (MAX_LINE_BYTES + 1));
  const bytes = Buffer.allocUnsafe(window);
  const read = fs.readSync(fd, bytes, 0, window, size - window);
  if (read !== window) throw Object.assign(new Error(`short read of ${path}`), { code: 'EIO' });
  const lastNewline = bytes.lastIndexOf(0x0a);
  if (lastNewline === -1) {
    if (window === size) return empty; // the only record is torn
    throw damaged(path, `its last ${window} bytes hold no complete record`);
  }
  const before = lastNewline > 0 ? bytes.lastIndexOf(0x0a, lastNewline - 1) : -1;
  if (before === -1 && window < size) throw damaged(path, 'its last line is longer than any record');
  const lineStart = before + 1;
  const parsed = parseLine(bytes.subarray(lineStart, lastNewline));
  if (!parsed.ok) throw damaged(path, `its last line is not a record (${parsed.why})`);
  if (parsed.record.vault !== vaultId) {
    throw new AuditError(
      `The audit log ${path} belongs to vault ${parsed.record.vault}, not this vault (${vaultId}). ` +
        'Move it aside, or point the vault at its own directory.',
    );
  }
  return {
    end: size - window + lastNewline + 1,
    seq: parsed.record.seq,
    hash: lineHash(bytes.subarray(lineStart, lastNewline)),
  };
}

function damaged(path: string, what: string): AuditError {
  return new AuditError(
    `The audit log ${path} is damaged: ${what}. Nothing is released until it is fixed: run ` +
      'verifyAudit() (agent-vault audit verify) as the owner to see where, then move the log aside.',
  );
}

/** What to do about an I/O error on the log; the rest is common advice (../_fs.ts). */
const ADVICE: Record<string, string> = {
  EACCES: 'Check that this user can read and write the audit log and the vault directory.',
  EPERM: 'Check that this user can read and write the audit log and the vault directory.',
  EROFS: 'The file system is read-only: point the vault at a writable directory.',
  EISDIR: 'A directory is in the way of the audit log: remove it.',
  ENOTFILE: 'Something other than a file is in the way of the audit log: remove it, or put the real log back in its place.',
};

/**
 * The log opened for reading, with its size, or undefined when there is none. What is not a
 * regular file is refused before it is opened (a FIFO would block the open until some writer
 * came, a device would never end, and opening a device can do something of its own), and again
 * on the open handle, in case one was swapped in meanwhile: O_NONBLOCK makes that open return.
 */
export async function openForReading(path: string): Promise<{ handle: FileHandle; size: number } | undefined> {
  let handle: FileHandle;
  try {
    // lstat: a symlink in the log's place is refused, not followed (to /dev/zero, say).
    const found = await lstat(path);
    if (!found.isFile()) throw notAFile(path, found, 'read');
    handle = await open(path, SAFE_READ_FLAGS);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw ioError(error, 'read', path);
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) throw notAFile(path, opened, 'read');
    const unsafe = unsafeBecause(opened);
    if (unsafe) throw unsafeLog(path, unsafe);
    return { handle, size: opened.size };
  } catch (error) {
    await handle.close();
    throw ioError(error, 'read', path);
  }
}

/** The error for a log path that holds something other than a regular file: says what it is. */
export function notAFile(path: string, stats: fs.Stats, action: string): AuditError {
  const code = stats.isDirectory() ? 'EISDIR' : 'ENOTFILE';
  return new AuditError(`Could not ${action} the audit log ${path} (${code}): it is ${fileKind(stats)}, not a regular file. ${ADVICE[code]}`);
}

/** A log owned by another user, or writable by others: anyone could have written it. */
export function unsafeLog(path: string, why: string): AuditError {
  return new AuditError(
    `The audit log ${path} cannot be trusted: ${why}. Make this user own it and run chmod 600 on it, or move it aside.`,
  );
}

export function ioError(error: unknown, action: string, path: string): VaultError {
  if (error instanceof VaultError) return error;
  const code = errnoCode(error) ?? 'UNKNOWN';
  const advice = fsAdvice(code, ADVICE);
  return new AuditError(`Could not ${action} the audit log ${path} (${describeFsError(error)}). ${advice}`, { cause: error });
}
