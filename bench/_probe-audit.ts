// scratch: N appends, one per turn (mode=turn), or in a burst (mode=burst), or 600µs apart (mode=paced)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileAuditSink } from '../src/audit/file.ts';
import { derive, initCrypto, randomBytes } from '../src/crypto.ts';
import { tempDir } from './_fixtures.ts';
const mode = process.argv[2] ?? 'turn';
const n = Number(process.argv[3] ?? 20000);
await initCrypto();
const macKey = derive(randomBytes(32), 'agent-vault/audit/v1');
const dir = join(tempDir('probe'), 'log');
mkdirSync(dir, { mode: 0o700 });
const sink = fileAuditSink({ dir });
const ctx = () => ({ vaultId: '00112233445566778899aabbccddeeff', macKey, now: Date.now() });
const EVENT = { actor: 'agent:bench-agent', generation: 1, action: 'secret.resolve', name: `~${'n'.repeat(82)}`, version: 1, outcome: 'ok' } as const;
await sink.append({ actor: 'owner', generation: 0, action: 'vault.open', outcome: 'ok' }, ctx());
const turn = () => new Promise((r) => setImmediate(r));
const paced = () => new Promise((r) => setTimeout(r, 0.6));
const t0 = process.cpuUsage();
for (let i = 0; i < n; i++) {
  await sink.append(EVENT, ctx());
  if (mode === 'turn') await turn();
  if (mode === 'paced') await paced();
}
const used = process.cpuUsage(t0);
console.log(mode, 'cpu µs/record', ((used.user + used.system) / n).toFixed(1));
await sink.close();
