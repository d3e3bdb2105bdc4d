import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { BackendError, UsageError } from '../errors.ts';
import { describeFsError, errnoCode, fsAdvice, openPlanted, openPlantedSync } from '../_fs.ts';

/*
 * The file backend's entry files, and the errors it reports about its files.
 *
 * An entry file's name is SHA-256 of the UTF-8 key in hex: no key byte reaches a file name,
 * every name is safe on every file system (case-insensitive ones included), and get/set/delete
 * are one path lookup. Its content:
 *   "AVF1" | key length u16 BE | value length u32 BE | key (UTF-8) | value
 * The key inside lets list() name entries and lets get() check that the file is the entry it
 * asked for, not another one copied over it; the value length catches truncation.
 */
const MAGIC = Buffer.from('AVF1');
const HEADER_BYTES = 10;
const MAX_KEY_LENGTH = 1024;
/** A 1024-unit key is at most 3072 UTF-8 bytes, so one read of this size holds any header. */
export const HEADER_READ_BYTES = HEADER_BYTES + 3 * MAX_KEY_LENGTH;
export const ENTRY_NAME = /^[0-9a-f]{64}$/;
/**
 * No entry the core writes comes near this (a value is at most 64 KiB of ciphertext plus its
 * grants); a larger file was planted, and is refused before a byte of it is read.
 */
export const MAX_ENTRY_BYTES = 16 * 1024 * 1024;

/** Names already hashed: agents look up the same few keys on every request. */
const names = new Map<string, string>();

export function entryName(key: string): string {
  let name = names.get(key);
  if (name === undefined) {
    name = createHash('sha256').update(key, 'utf8').digest('hex');
    if (names.size >= 4_096) names.clear();
    names.set(key, name);
  }
  return name;
}

/** Lone surrogates would encode to U+FFFD in UTF-8 and collide; NUL breaks many stores. */
const BAD_KEY_CHAR = /[\0\p{Cs}]/u;

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new UsageError(`A backend key must be a string of 1 to ${MAX_KEY_LENGTH} characters.`);
  }
  if (BAD_KEY_CHAR.test(key)) {
    throw new UsageError('A backend key must be well-formed Unicode without NUL characters.');
  }
}

export function encodeEntry(key: string, value: Uint8Array): Uint8Array {
  checkKey(key);
  if (!(value instanceof Uint8Array)) throw new UsageError('A backend value must be a Uint8Array.');
  if (value.length > 0xffffffff) throw new UsageError('A backend value must be smaller than 4 GiB.');
  const keyBytes = Buffer.from(key, 'utf8');
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + keyBytes.length + value.length);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt16BE(keyBytes.length, 4);
  bytes.writeUInt32BE(value.length, 6);
  keyBytes.copy(bytes, HEADER_BYTES);
  bytes.set(value, HEADER_BYTES + keyBytes.length);
  return bytes;
}

export function decodeKey(bytes: Buffer, path: string): string {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw corrupt(path, 'is not an agent-vault entry');
  }
  const keyLength = bytes.readUInt16BE(4);
  if (bytes.length < HEADER_BYTES + keyLength) throw corrupt(path, 'is truncated');
  return bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + keyLength);
}

export function decodeEntry(bytes: Buffer, key: string, path: string): Uint8Array {
  const storedKey = decodeKey(bytes, path);
  if (storedKey !== key) throw corrupt(path, 'holds an entry that belongs to another file name');
  const start = HEADER_BYTES + bytes.readUInt16BE(4);
  if (bytes.length !== start + bytes.readUInt32BE(6)) throw corrupt(path, 'is truncated or has trailing bytes');
  // A plain Uint8Array copy: callers compare and keep it, and Buffer's pool must not leak.
  return new Uint8Array(bytes.subarray(start));
}

export function corrupt(path: string, what: string): BackendError {
  return new BackendError(
    `The vault file ${path} ${what}; it was modified outside agent-vault. Restore it from a ` +
      'backup or delete it (the entry is then lost).',
  );
}

/** What to do about an fs error on the vault's own files; the rest is common advice (../_fs.ts). */
const ADVICE: Record<string, string> = {
  EACCES: 'Check that this user owns the vault directory and can read and write it (mode 0700).',
  EPERM: 'Check that this user owns the vault directory and can read and write it (mode 0700).',
  EROFS: 'The file system is read-only: set AGENT_VAULT_DIR (or the dir option) to a writable directory.',
  ENOENT: 'The vault directory was removed: recreate it (agent-vault init) or set AGENT_VAULT_DIR.',
  ENOTDIR: 'A part of the vault path is a file, not a directory: fix the path or set AGENT_VAULT_DIR.',
  EEXIST: 'A part of the vault path is a file, not a directory: fix the path or set AGENT_VAULT_DIR.',
  EISDIR: 'A directory is in the way of a vault file: remove it.',
};

/**
 * An fs error as a BackendError naming the path and what to do. Only paths and errno codes go in
 * the message (file names are hashes, never keys or values); the original error is the cause.
 */
export function fsError(error: unknown, action: string, path: string): BackendError {
  if (error instanceof BackendError) return error;
  const code = errnoCode(error) ?? 'UNKNOWN';
  return new BackendError(`File backend could not ${action} ${path} (${describeFsError(error)}). ${fsAdvice(code, ADVICE)}`, {
    cause: error,
  });
}

/**
 * `path` opened for reading with its fstat, or undefined when it does not exist: never through a
 * symlink, never blocking on a FIFO, only a regular file of at most `maxBytes` owned by this user
 * (openPlanted in ../_fs.ts); any failure as fsError.
 */
export async function openIfPresent(
  path: string, action: string, maxBytes = MAX_ENTRY_BYTES,
): Promise<{ handle: FileHandle; stats: BigIntStats } | undefined> {
  try {
    return await openPlanted(path, maxBytes);
  } catch (error) {
    throw fsError(error, action, path);
  }
}

/** openIfPresent without yielding (the file backend's reads): the descriptor and its fstat. */
export function openIfPresentSync(path: string, action: string, maxBytes = MAX_ENTRY_BYTES): { fd: number; stats: BigIntStats } | undefined {
  try {
    return openPlantedSync(path, maxBytes);
  } catch (error) {
    throw fsError(error, action, path);
  }
}
