/**
 * Encrypted backups: every record of a vault (the header included) in one file that only the
 * vault's own unlock opens. The records are already ciphertext; the backup seals them again, as a
 * whole, so a backup reveals nothing (not even how many secrets or agents there are) and any
 * change to it, or a backup of another vault, is refused before anything is restored.
 *
 * Format (a text file): one JSON line `{ format, vaultId, createdAt, header }` (the vault header
 * as base64url: a restore needs it to unlock), then the base64url of
 * seal(derive(rootKey, "agent-vault/backup/v1"), JSON { key: base64url(value) }, ad), where ad
 * binds the format, the vault id and the header line. The audit log is not part of a backup.
 */
import type { Backend } from './backend.ts';
import { bytesToHex } from './_bytes.ts';
import { decodeHeader, HEADER_KEY, type Header } from './_header.ts';
import { derive, fromBase64Url, open, seal, toBase64Url, utf8, wipe } from './crypto.ts';
import { IntegrityError, UsageError, VaultExistsError } from './errors.ts';

const FORMAT = 'agent-vault-backup/1';
const WHAT = 'The backup';
/** A backup holds small records; refuse a file that could not be one before parsing it. */
const MAX_BACKUP_BYTES = 256 * 1024 * 1024;

function backupKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/backup/v1');
}

function associatedData(headerLine: string): Uint8Array {
  return utf8.encode(`${FORMAT}\n${headerLine}`);
}

/** Every record of `backend`, sealed under the vault's backup key. Run it under the backend's lock. */
export async function exportBackup(backend: Backend, rootKey: Uint8Array, createdAt: number): Promise<Uint8Array> {
  const headerBytes = await backend.get(HEADER_KEY);
  if (!headerBytes) throw new UsageError('This vault has no header to back up.');
  const header = decodeHeader(headerBytes);
  const records: Record<string, string> = {};
  for (const key of (await backend.list('')).sort()) {
    const value = await backend.get(key);
    if (value !== undefined) records[key] = toBase64Url(value);
  }
  const headerLine = JSON.stringify({
    format: FORMAT, vaultId: bytesToHex(header.vaultId), createdAt: new Date(createdAt).toISOString(), header: toBase64Url(headerBytes),
  });
  const plaintext = utf8.encode(JSON.stringify(records));
  const key = backupKey(rootKey);
  try {
    return utf8.encode(`${headerLine}\n${toBase64Url(seal(key, plaintext, associatedData(headerLine)))}\n`);
  } finally {
    wipe(key, plaintext);
  }
}

/** The vault header a backup carries (to unlock the root key that opens the rest). */
export function backupHeader(bytes: Uint8Array): { header: Header; headerLine: string; sealed: string } {
  if (bytes.length > MAX_BACKUP_BYTES) throw notABackup();
  const [headerLine, sealed, rest] = utf8.decode(bytes).split('\n');
  let json: { format?: unknown; header?: unknown };
  try {
    json = JSON.parse(headerLine ?? '');
  } catch {
    throw notABackup();
  }
  if (json.format !== FORMAT || typeof json.header !== 'string' || !sealed || (rest !== undefined && rest !== '')) throw notABackup();
  return { header: decodeHeader(fromBase64Url(json.header)), headerLine: headerLine as string, sealed };
}

/**
 * Write a backup's records into an empty `backend`, header last: a restore cut short leaves no
 * vault (and can be run again), never half of one that opens.
 */
export async function importBackup(backend: Backend, bytes: Uint8Array, rootKey: Uint8Array): Promise<void> {
  const { headerLine, sealed } = backupHeader(bytes);
  if ((await backend.get(HEADER_KEY)) !== undefined) {
    throw new VaultExistsError('A vault already exists where the backup would be restored; restore into an empty directory.');
  }
  const key = backupKey(rootKey);
  let plaintext: Uint8Array;
  try {
    plaintext = open(key, fromBase64Url(sealed), associatedData(headerLine), WHAT);
  } catch {
    throw new IntegrityError(`${WHAT} failed authentication: it was modified, truncated, or made by another vault.`);
  } finally {
    wipe(key);
  }
  let records: Record<string, string>;
  try {
    records = JSON.parse(utf8.decode(plaintext)) as Record<string, string>;
  } finally {
    wipe(plaintext);
  }
  const { [HEADER_KEY]: headerText, ...others } = records;
  // The header outside the seal (used to unlock) must be the one inside it.
  if (headerText === undefined || headerText !== (JSON.parse(headerLine) as { header: string }).header) throw notABackup();
  for (const [name, value] of Object.entries(others)) await backend.set(name, fromBase64Url(value));
  await backend.set(HEADER_KEY, fromBase64Url(headerText));
}

function notABackup(): UsageError {
  return new UsageError('That file is not an agent-vault backup (made by `agent-vault backup FILE`).');
}
