// Measures the audit sink: append cost per durability mode (sequential and 8 concurrent callers in
// one process), resolution latency with and without the sink, verify and readAudit on a large log.
// Run: node test/audit/_bench.ts [records=1000000]   (not part of the suite)
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditKeyring } from '../../src/audit/index.ts';
import { fileAuditSink, type AuditDurability } from '../../src/audit/file.ts';
import { sealRecord, genesisHash } from '../../src/audit/_chain.ts';
import { derive, initCrypto, randomBytes } from '../../src/crypto.ts';
import { createVault, openVault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { FAST_KDF } from '../_fixtures/vault.ts';

await initCrypto();
const root = mkdtempSync(join(tmpdir(), 'agent-vault-audit-bench-'));
const vaultId = '00112233445566778899aabbccddeeff';
const rootKey = randomBytes(32);
const macKey = derive(rootKey, 'agent-vault/audit/v1');
const event = { actor: 'owner', generation: 0, action: 'secret.resolve', name: 'openai-api-key', version: 3, outcome: 'ok' } as const;
const us = (ms: number, n: number) => `${((ms * 1000) / n).toFixed(1)} µs`;

async function appendCost(durability: AuditDurability, n: number, concurrency: number): Promise<string> {
  const dir = mkdtempSync(join(root, `${durability}-`));
  const sink = fileAuditSink({ dir, durability });
  await sink.append(event, { vaultId, macKey, now: Date.now() });
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < n / concurrency; i++) await sink.append(event, { vaultId, macKey, now: Date.now() });
  }));
  const elapsed = performance.now() - start;
  await sink.close();
  return us(elapsed, n);
}

for (const durability of ['write', 'fsync', 'group'] as const) {
  const n = durability === 'write' ? 20_000 : 500;
  console.log(`append ${durability.padEnd(5)}: sequential ${await appendCost(durability, n, 1)}/record, ` +
    `8 concurrent ${await appendCost(durability, n, 8)}/record`);
}

// Resolution latency, agent role, memory backend (so the sink is the only file I/O), with and without audit.
for (const mode of ['none', 'write', 'fsync', 'group'] as const) {
  const dir = mkdtempSync(join(root, `resolve-${mode}-`));
  const backend = memoryBackend();
  const audit = () => (mode === 'none' ? false as const : fileAuditSink({ dir, durability: mode }));
  const owner = await createVault({ backend, passphrase: 'pw', passphraseParams: FAST_KDF, audit: audit() });
  await owner.set('openai-api-key', 'sk-test');
  const { token } = await owner.createAgent('bot', { allow: ['*'] });
  const agent = await openVault({ backend, token, audit: audit() });
  const n = mode === 'none' || mode === 'write' ? 5_000 : 300;
  for (let i = 0; i < 100; i++) await agent.use('openai-api-key', () => undefined);
  const start = performance.now();
  for (let i = 0; i < n; i++) await agent.use('openai-api-key', () => undefined);
  console.log(`resolve, audit ${mode.padEnd(5)}: ${us(performance.now() - start, n)}/resolution`);
  await agent.close();
  await owner.close();
}

// The same with the default file backend: what `openVault({ dir, token })` does.
for (const mode of ['none', 'write', 'group'] as const) {
  const dir = mkdtempSync(join(root, `resolve-file-${mode}-`));
  const audit = () => (mode === 'none' ? false as const : fileAuditSink({ dir, durability: mode }));
  const owner = await createVault({ dir, passphrase: 'pw', passphraseParams: FAST_KDF, audit: audit() });
  await owner.set('openai-api-key', 'sk-test');
  const { token } = await owner.createAgent('bot', { allow: ['*'] });
  const agent = await openVault({ dir, token, audit: audit() });
  const n = mode === 'group' ? 300 : 5_000;
  for (let i = 0; i < 100; i++) await agent.use('openai-api-key', () => undefined);
  const start = performance.now();
  for (let i = 0; i < n; i++) await agent.use('openai-api-key', () => undefined);
  console.log(`resolve (file backend), audit ${mode.padEnd(5)}: ${us(performance.now() - start, n)}/resolution`);
  await agent.close();
  await owner.close();
}

// A large log: written directly (same format), then verified and read.
const records = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(root, 'big-'));
const path = join(dir, 'audit.jsonl');
{
  const fd = fs.openSync(path, 'w', 0o600);
  let prev = genesisHash(vaultId);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  let batch: Buffer[] = [];
  for (let seq = 1; seq <= records; seq++) {
    const name = `secret-${seq % 100}`;
    const actor = seq % 10 === 0 ? 'owner' : `agent:bot-${seq % 7}`;
    const generation = actor === 'owner' ? 0 : 1;
    const { bytes, hash } = sealRecord({ ...event, actor, generation, name }, seq, t0 + seq * 1000, vaultId, prev, macKey);
    prev = hash;
    batch.push(Buffer.from(bytes), Buffer.from('\n'));
    if (batch.length >= 20_000) {
      fs.writeSync(fd, Buffer.concat(batch));
      batch = [];
    }
  }
  fs.writeSync(fd, Buffer.concat(batch));
  fs.closeSync(fd);
}
console.log(`log: ${records} records, ${(fs.statSync(path).size / 1e6).toFixed(0)} MB`);
const sink = fileAuditSink({ dir });
async function timed(label: string, filter: Parameters<typeof sink.read>[0]) {
  const start = performance.now();
  let count = 0;
  for await (const _ of sink.read(filter)) count++;
  console.log(`readAudit ${label}: ${count} records in ${(performance.now() - start).toFixed(0)} ms`);
}
await timed('{ limit: 100 }', { limit: 100 });
await timed('{ since: last hour }', { since: Date.parse('2026-01-01T00:00:00Z') + (records - 3600) * 1000 });
await timed("{ name: 'secret-7', limit: 50 }", { name: 'secret-7', limit: 50 });
await timed("{ agent: 'bot-3', action: 'secret.resolve', name: 'secret-17' } (whole log)", { agent: 'bot-3', action: 'secret.resolve', name: 'secret-17' });
await timed("{ agent: 'nobody' } (whole log, nothing matches)", { agent: 'nobody' });
await timed('{} (whole log, every record parsed)', {});
// Verify needs every writer's key: these records are all MACed with one key, so give it to all.
const keys = auditKeyring(rootKey);
const fixed = { keyFor: () => macKey, known: () => keys.known(), wipe: () => keys.wipe() };
const start = performance.now();
const report = await sink.verify({ vaultId, macKey, now: Date.now(), keys: fixed });
console.log(`verifyAudit: ok=${report.ok} ${report.records} records in ${(performance.now() - start).toFixed(0)} ms`);
await sink.close();
rmSync(root, { recursive: true, force: true });
