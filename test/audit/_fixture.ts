// Shared set-up for the audit tests: vaults in temp directories with the default file audit sink.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_KEY_LABEL, type AuditEvent, type AuditRecord } from '../../src/audit/index.ts';
import { sealRecord } from '../../src/audit/_chain.ts';
import { derive, initCrypto, randomBytes } from '../../src/crypto.ts';
import { createVault, openVault, type Vault } from '../../src/index.ts';
import { parseToken } from '../../src/token.ts';
import { FAST_KDF, tempDir } from '../_fixtures/index.ts';

export const CANARY = 'sk-canary-0b6f3c1e9d2a4f58';

// For tests of a sink on its own (no vault): one vault id, the owner's audit key, events and a context.
await initCrypto();
export const vaultId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
export const rootKey = randomBytes(32);
export const ownerKey = derive(rootKey, AUDIT_KEY_LABEL);
export const sinkContext = () => ({ vaultId, macKey: ownerKey, now: Date.now() });
export const sinkEvent = (name: string): AuditEvent => ({ actor: 'owner', generation: 0, action: 'secret.set', name, outcome: 'ok' });
/** Resolves once this turn of the event loop has ended: when a sink gives up a lock it kept (_append-lock.ts). */
export const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

export function logPath(dir: string): string {
  return join(dir, 'audit.jsonl');
}

export function readLines(dir: string): string[] {
  const text = readFileSync(logPath(dir), 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
}

export function writeLines(dir: string, lines: string[]): void {
  writeFileSync(logPath(dir), lines.map((line) => `${line}\n`).join(''));
}

export function records(dir: string): AuditRecord[] {
  return readLines(dir).map((line) => JSON.parse(line) as AuditRecord);
}

/** An owner vault in a fresh directory, with `openai-api-key` set to the canary. */
export async function ownerVault(dir = tempDir('agent-vault-audit-'), options: { now?: () => number } = {}): Promise<{ dir: string; owner: Vault }> {
  const owner = await createVault({ dir, passphrase: 'correct horse', passphraseParams: FAST_KDF, ...options });
  await owner.set('openai-api-key', CANARY);
  return { dir, owner };
}

export async function agentVault(dir: string, token: string, options: { now?: () => number } = {}): Promise<Vault> {
  return openVault({ dir, token, ...options });
}

/** The audit key an agent's token gives it: what an agent that turns forger holds. */
export function agentAuditKey(token: string): Uint8Array {
  return derive(parseToken(token).agentKey, AUDIT_KEY_LABEL);
}

/** A well-formed line, MACed under `key`, as any holder of that key could write it. */
export function forgeLine(
  key: Uint8Array, fields: Omit<AuditEvent, 'generation'> & { generation?: number; seq: number; prev: string; vault: string; time?: string },
): string {
  const { seq, prev, vault, time, ...event } = fields;
  const { bytes } = sealRecord(
    { generation: 0, ...event }, seq, time ? Date.parse(time) : Date.now(), vault, prev, key,
  );
  return new TextDecoder().decode(bytes);
}
