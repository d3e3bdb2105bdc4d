/** Vaults for the benchmarks, made fast: records are built in memory, then copied to disk. */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, createVault, openVault, type Vault } from '../src/index.ts';
import { memoryBackend } from '../src/backends/memory.ts';
import { fileBackend } from '../src/backends/file.ts';
import { fileAuditSink } from '../src/audit/file.ts';

export const KEY = `sk-bench-${'k'.repeat(42)}`; // 51 bytes, the length of an OpenAI key
export const FAST_KDF = { opslimit: 1, memlimit: 8 * 1024 * 1024 };

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `agent-vault-bench-${label}-`));
}

/** An owner vault in memory with `count` secrets (`secret-0` … plus `openai-api-key`) and an agent. */
export async function memoryVault(count: number) {
  const backend = memoryBackend();
  const owner = await createVault({ backend, passphrase: 'bench', passphraseParams: FAST_KDF, audit: false });
  for (let i = 0; i < count; i++) await owner.set(`secret-${i}`, `value-${i}`);
  await owner.set('openai-api-key', KEY);
  const { token } = await owner.createAgent('bench-agent', { allow: ['openai-*', 'secret-1*'] });
  return { backend, owner, token };
}

/** Copy every record of a backend into a fresh file-backend directory (16 writes in flight). */
export async function copyToDirectory(source: Backend, dir: string): Promise<void> {
  const target = fileBackend({ dir });
  const keys = await source.list('');
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map(async (key) => target.set(key, (await source.get(key))!)));
  }
  await target.close();
}

/** An agent vault on the file backend, with or without the default file audit sink. */
export async function fileAgent(dir: string, token: string, audit: boolean): Promise<Vault> {
  if (!audit) return openVault({ dir, token, audit: false });
  const auditDir = join(dir, '..', `audit-${Math.random().toString(36).slice(2)}`);
  mkdirSync(auditDir, { recursive: true, mode: 0o700 });
  // Only the owner starts a log: its vault.open is the first record, as in any real vault.
  await (await openVault({ dir, passphrase: 'bench', audit: fileAuditSink({ dir: auditDir }) })).close();
  return openVault({ dir, token, audit: fileAuditSink({ dir: auditDir }) });
}
