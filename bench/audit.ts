/**
 * The audit append on its own: CPU time (user + system, process.cpuUsage) per record written by
 * the default file sink, which on a shared machine says more than wall time. Three patterns:
 * a burst in one turn of the event loop (a loop of resolutions, requests resolving together),
 * one record per turn (a request at a time: the lock is kept across turns while the records
 * follow each other, src/audit/_append-lock.ts), and 8 callers each yielding between records
 * (concurrent requests); and the cost of sealing one record (format, MAC, hash) without any I/O.
 * Rounds alternate the patterns; medians of rounds.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileAuditSink } from '../src/audit/file.ts';
import { genesisHash, sealRecord } from '../src/audit/_chain.ts';
import { type AuditEvent } from '../src/audit/index.ts';
import { derive, initCrypto, randomBytes } from '../src/crypto.ts';
import { quantile } from './_measure.ts';
import { tempDir } from './_fixtures.ts';

export type AuditBench = Record<string, { cpuUsPerRecord: number; spread: [number, number] }>;

const VAULT_ID = '00112233445566778899aabbccddeeff';
// A resolution's record as the vault writes it: the name sealed (about this long), a version.
const EVENT: AuditEvent = {
  actor: 'agent:bench-agent', generation: 1, action: 'secret.resolve', name: `~${'n'.repeat(82)}`, version: 1, outcome: 'ok',
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

export async function auditBench(rounds = 7, perRound = 2_000): Promise<AuditBench> {
  await initCrypto();
  const macKey = derive(randomBytes(32), 'agent-vault/audit/v1');
  const dir = join(tempDir('audit'), 'log');
  mkdirSync(dir, { mode: 0o700 });
  const sink = fileAuditSink({ dir });
  const context = () => ({ vaultId: VAULT_ID, macKey, now: Date.now() });
  await sink.append({ actor: 'owner', generation: 0, action: 'vault.open', outcome: 'ok' }, context());
  const prev = genesisHash(VAULT_ID);
  const cases: Record<string, () => Promise<void> | void> = {
    'burst in one turn': async () => {
      for (let i = 0; i < perRound; i++) await sink.append(EVENT, context());
    },
    'one record per turn': async () => {
      for (let i = 0; i < perRound; i++) {
        await sink.append(EVENT, context());
        await nextTurn();
      }
    },
    '8 in flight, yielding': async () => {
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = 0; i < perRound / 8; i++) {
          await sink.append(EVENT, context());
          await nextTurn();
        }
      }));
    },
    'seal only (no I/O)': () => {
      for (let i = 0; i < perRound; i++) sealRecord(EVENT, i + 2, Date.now(), VAULT_ID, prev, macKey);
    },
  };
  // What yielding alone costs, taken off the patterns that yield once per record.
  const yieldOnly = async () => {
    for (let i = 0; i < perRound; i++) await nextTurn();
  };
  const samples = new Map<string, number[]>([...Object.keys(cases), 'yield'].map((name) => [name, []]));
  const cpu = async (run: () => Promise<void> | void) => {
    const start = process.cpuUsage();
    await run();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / perRound;
  };
  await cpu(cases['burst in one turn']!); // warm-up
  for (let round = 0; round < rounds; round++) {
    samples.get('yield')!.push(await cpu(yieldOnly));
    for (const [name, run] of Object.entries(cases)) samples.get(name)!.push(await cpu(run));
  }
  await sink.close();
  const yieldCost = quantile(samples.get('yield')!, 0.5);
  const result: AuditBench = {};
  for (const name of Object.keys(cases)) {
    const less = name.includes('yielding') || name.includes('per turn') ? yieldCost : 0;
    const values = samples.get(name)!.map((value) => value - less);
    result[name] = { cpuUsPerRecord: quantile(values, 0.5), spread: [Math.min(...values), Math.max(...values)] };
  }
  return result;
}
