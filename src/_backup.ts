/**
 * Encrypted backups: every record of a vault (header, signed state, agents, secrets) in one file
 * that only the vault's own unlock opens. The records are already ciphertext and owner-signed;
 * the backup seals them again, as a whole, so it reveals nothing (not even how many secrets or
 * agents there are) and any change to it, or a part of another backup, is refused.
 *
 * Both ends verify the records the way the owner verifies a vault (every signature, every record
 * against the signed state, every value opening), on a copy in memory: a backup that would not
 * restore is refused when it is made, and a restore writes nothing until all of it verified.
 * Byte layout in FORMAT.md ("A backup"). The audit log is not part of a backup.
 */
import type { Backend } from './backend.ts';
import { memoryBackend } from './backends/memory.ts';
import type { AuditSink } from './audit/index.ts';
import { bytesToHex } from './_bytes.ts';
import { decodeHeader, HEADER_KEY, type SignedHeader, type StoredHeader, verifyHeader } from './_header.ts';
import { backupKey } from './_keys.ts';
import { ownerRole, wipeOwner } from './_owner-role.ts';
import { decodeState, STATE_KEY, type StateFloor, stateHash } from './_state.ts';
import { fromBase64Url, open, seal, toBase64Url, utf8, wipe } from './crypto.ts';
import { IntegrityError, UsageError, VaultExistsError } from './errors.ts';

const FORMAT = 'agent-vault-backup/1';
const WHAT = 'The backup';
/** A backup holds small records; refuse a file that could not be one before parsing it. */
const MAX_BACKUP_BYTES = 256 * 1024 * 1024;
/**
 * The keys a vault's records live under (FORMAT.md, "Backend keys"); the operation marker is
 * kept so a restored vault adopts what an interrupted operation wrote. Nothing else rides along.
 */
const RECORD_KEY = /^(?:header|state|pending|[as]\/[0-9a-f]{32})$/;

function associatedData(headerLine: string): Uint8Array {
  return utf8.encode(`${FORMAT}\n${headerLine}`);
}

/** Every record of `backend`, verified, then sealed under the vault's backup key. Run it under the backend's lock. */
export async function exportBackup(backend: Backend, rootKey: Uint8Array, createdAt: number): Promise<Uint8Array> {
  const records = new Map<string, Uint8Array>();
  for (const key of (await backend.list('')).sort()) {
    const value = RECORD_KEY.test(key) ? await backend.get(key) : undefined;
    if (value !== undefined) records.set(key, value);
  }
  const headerBytes = records.get(HEADER_KEY);
  if (!headerBytes) throw new UsageError('This vault has no header to back up.');
  const header = decodeHeader(headerBytes);
  await verifiedCopy(records, header, rootKey, { now: () => createdAt });
  const headerLine = JSON.stringify({
    format: FORMAT, vaultId: bytesToHex(header.vaultId), createdAt: new Date(createdAt).toISOString(), header: toBase64Url(headerBytes),
  });
  const plaintext = utf8.encode(JSON.stringify(Object.fromEntries([...records].map(([key, value]) => [key, toBase64Url(value)]))));
  const key = backupKey(rootKey);
  try {
    return utf8.encode(`${headerLine}\n${toBase64Url(seal(key, plaintext, associatedData(headerLine)))}\n`);
  } finally {
    wipe(key, plaintext);
  }
}

/** The vault header a backup carries (to unlock the root key that opens the rest); not yet authenticated. */
export function backupHeader(bytes: Uint8Array): { header: StoredHeader; headerLine: string; sealed: string } {
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

export interface ImportOptions {
  now: () => number;
  /** The restored vault's audit sink: its head (none for a new log) anchors a rollback's new state. */
  audit: AuditSink | undefined;
  /** The newest state of this vault the owner has seen (its config directory), `{ counter: 0 }` if none. */
  floor: StateFloor;
  /** Restore a backup older than `floor` anyway (see restoreVault). */
  allowRollback: boolean;
}

/**
 * Write a backup's records into `backend`, which must hold no vault, and return the floor of the
 * state written. A backup at or above `floor` is written as it is (a copy beside a vault still in
 * use opens, and so does that vault). One below it is a rollback: refused unless allowed, and then
 * restore signs a new state over the backup's records numbered above `floor`, so no state of the
 * vault as it was before the restore is accepted again. The header goes last: a restore cut short
 * leaves no vault (and can be run again), never half of one that opens.
 */
export async function importBackup(backend: Backend, bytes: Uint8Array, rootKey: Uint8Array, options: ImportOptions): Promise<StateFloor> {
  const { header, headerLine, sealed } = backupHeader(bytes);
  if ((await backend.get(HEADER_KEY)) !== undefined) {
    throw new VaultExistsError('A vault already exists where the backup would be restored; restore into an empty directory. Nothing was changed.');
  }
  const records = openRecords(sealed, headerLine, rootKey);
  const stateBytes = records.get(STATE_KEY);
  const backedUp = stateBytes && { counter: decodeState(stateBytes, { vaultId: header.vaultId, publicKey: formatTwo(header).ownerKey }).counter, hash: stateHash(stateBytes) };
  const rollback = backedUp !== undefined && olderThan(backedUp, options.floor);
  if (rollback && !options.allowRollback) {
    throw new IntegrityError(
      `${WHAT} is older than the newest state of this vault you have seen (state ${backedUp.counter}, newest ` +
        `${options.floor.counter}): restoring it would roll the vault back, bringing back what was revoked or ` +
        'deleted since. Nothing was written. Restore a newer backup, or, if you mean to go back, pass ' +
        '{ allowRollback: true } (`agent-vault restore --allow-rollback`).',
    );
  }
  const copy = await verifiedCopy(records, header, rootKey, { ...options, floor: rollback ? options.floor : undefined });
  // Records without a header are not a vault: what a restore cut short left, replaced whole.
  for (const key of await backend.list('')) if (RECORD_KEY.test(key) && !(await copy.backend.get(key))) await backend.delete(key);
  const keys = (await copy.backend.list('')).filter((key) => RECORD_KEY.test(key) && key !== HEADER_KEY);
  for (const key of [...keys.filter((key) => key !== STATE_KEY), STATE_KEY, HEADER_KEY]) {
    const value = await copy.backend.get(key);
    if (value !== undefined) await backend.set(key, value);
  }
  return copy.floor;
}

/** The backup's records, once its seal opens and the header inside it is the one it was unlocked with. */
function openRecords(sealed: string, headerLine: string, rootKey: Uint8Array): Map<string, Uint8Array> {
  const key = backupKey(rootKey);
  let plaintext: Uint8Array;
  try {
    plaintext = open(key, fromBase64Url(sealed), associatedData(headerLine), WHAT);
  } catch {
    throw new IntegrityError(`${WHAT} failed authentication: it was modified, truncated, or pieced together from two backups. Nothing was written.`);
  } finally {
    wipe(key);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(utf8.decode(plaintext)) as Record<string, unknown>;
  } finally {
    wipe(plaintext);
  }
  const records = new Map<string, Uint8Array>();
  for (const [name, value] of Object.entries(json)) {
    if (!RECORD_KEY.test(name) || typeof value !== 'string') throw notABackup();
    records.set(name, fromBase64Url(value));
  }
  // The header outside the seal (used to unlock) must be the one inside it.
  const outer = (JSON.parse(headerLine) as { header: string }).header;
  if (toBase64Url(records.get(HEADER_KEY) ?? new Uint8Array()) !== outer) throw notABackup();
  return records;
}

/**
 * `records` in a memory backend, checked as the owner checks a vault: the header signed by this
 * root key's signer, each record signed and listed by the signed state, each value opening. With
 * a `floor`, a new state is signed over them, numbered above it.
 */
async function verifiedCopy(
  records: Map<string, Uint8Array>, header: StoredHeader, rootKey: Uint8Array,
  options: Pick<ImportOptions, 'now'> & Partial<ImportOptions>,
): Promise<{ backend: Backend; floor: StateFloor }> {
  const signedHeader = formatTwo(header);
  const backend = memoryBackend();
  for (const [key, value] of records) await backend.set(key, value);
  // The role wipes its keys; it gets a copy of the caller's root key.
  const role = await ownerRole({
    backend, vaultId: header.vaultId, rootKey: Uint8Array.from(rootKey), now: options.now, audit: options.audit, configDir: false,
  });
  try {
    verifyHeader(signedHeader, role.signer.publicKey);
    await role.store.listSecrets();
    if (options.floor) await role.store.restamp(options.floor.counter);
    return { backend, floor: role.guard.floor };
  } finally {
    wipeOwner(role);
  }
}

function formatTwo(header: StoredHeader): SignedHeader {
  if (header.format !== 2) throw new UsageError('This backup holds a format-1 vault, from before records were owner-signed; it cannot be restored.');
  return header;
}

/** Whether a state is behind `floor`: a lower counter, or the same counter with other bytes. */
function olderThan(state: Required<StateFloor>, floor: StateFloor): boolean {
  return state.counter < floor.counter || (state.counter === floor.counter && floor.hash !== undefined && floor.hash !== state.hash);
}

function notABackup(): UsageError {
  return new UsageError('That file is not an agent-vault backup (made by `agent-vault backup FILE`).');
}
