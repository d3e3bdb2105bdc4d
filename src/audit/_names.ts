/**
 * Names in the audit log, sealed to the owner: the vault seals a record's `name` (a secret name,
 * or an agent id for agent.* actions) before any sink sees it, so `audit.jsonl` (or a database
 * table) holds no name in plaintext, and the owner's readAudit opens them again.
 *
 * A stored name is `~` + base64url(XChaCha20-Poly1305 seal under
 * derive(writer's audit key, "agent-vault/audit/name/v1"), associated data: the vault id). The
 * writer and the owner (who re-derives every writer's audit key, as verification does) can open
 * it; another agent cannot, nor can anyone who reads the directory. The nonce is random, so
 * records by different writers (or vault objects) about one name do not show it is the same
 * name; one vault object reuses its seal (see sealedNames). The actor (`agent:<id>`) stays in
 * plaintext: verification needs it to find the writer's key (the README says so).
 */
import type { AuditFilter, AuditKeyring, AuditRecord } from './index.ts';
import { derive, fromBase64Url, open, seal, toBase64Url, utf8, wipe } from '../crypto.ts';
import { UsageError } from '../errors.ts';

const NAME_LABEL = 'agent-vault/audit/name/v1';
const SEALED_PREFIX = '~';

/**
 * Sealed names by writer key, then name: an agent resolves the same few names on every request,
 * and a seal costs ~15 µs through libsodium's wrappers, a third of a whole resolution. So one
 * writer (one vault object) reuses its sealed form of a name: its records show that they name
 * the same secret, never which; another process, or the next vault object, seals afresh.
 */
const sealedNames = new WeakMap<Uint8Array, Map<string, string>>();
const MAX_CACHED_NAMES = 256;

/** `name` as the log stores it. */
export function sealName(name: string, macKey: Uint8Array, vaultId: string): string {
  let cache = sealedNames.get(macKey);
  if (!cache) sealedNames.set(macKey, (cache = new Map()));
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const key = derive(macKey, NAME_LABEL);
  try {
    const sealed = SEALED_PREFIX + toBase64Url(seal(key, utf8.encode(name), utf8.encode(vaultId)));
    if (cache.size >= MAX_CACHED_NAMES) cache.clear();
    cache.set(name, sealed);
    return sealed;
  } finally {
    wipe(key);
  }
}

/**
 * The record with its name opened, when it was sealed by the writer it names; a name that does
 * not open (a log written before names were sealed, or a forged record) is left as stored.
 */
export function openName(record: AuditRecord, keys: AuditKeyring): AuditRecord {
  if (record.name === undefined || !record.name.startsWith(SEALED_PREFIX)) return record;
  const writerKey = keys.keyFor(record.actor, record.generation);
  if (!writerKey) return record;
  const key = derive(writerKey, NAME_LABEL);
  try {
    const bytes = open(key, fromBase64Url(record.name.slice(SEALED_PREFIX.length)), utf8.encode(record.vault), 'An audit record name');
    try {
      return { ...record, name: utf8.decode(bytes) };
    } finally {
      wipe(bytes);
    }
  } catch {
    return record;
  } finally {
    wipe(key);
  }
}

/**
 * A sink's records with names opened, `filter.name` and `filter.limit` applied after opening
 * (the sink cannot match a sealed name). The sink is given the rest of the filter.
 */
export async function* openNames(
  read: (filter: AuditFilter) => AsyncIterable<AuditRecord>, filter: AuditFilter, keys: AuditKeyring,
): AsyncGenerator<AuditRecord> {
  const { name, limit, ...rest } = filter;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new UsageError('readAudit: limit must be a whole number >= 0.');
  }
  const sinkFilter = name === undefined ? { ...rest, limit } : rest;
  let count = 0;
  try {
    if (limit === 0) return;
    for await (const stored of read(sinkFilter)) {
      const record = openName(stored, keys);
      if (name !== undefined && record.name !== name) continue;
      yield record;
      if (limit !== undefined && ++count >= limit) return;
    }
  } finally {
    keys.wipe();
  }
}
