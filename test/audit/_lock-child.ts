// A child process for lock-hold.test.ts, run with plain node (Node 24 strips types).
// Usage: node _lock-child.ts <dir> <mode> <vault id> <audit key hex>
//   append-once   append one record ("from-child") and exit normally
//   append-exit   append one record, print whether the lock is still kept, process.exit() in the same turn
//   append-hang   append one record, print "holding", then block without ever yielding the lock
import { existsSync } from 'node:fs';
import { fileAuditSink } from '../../src/audit/file.ts';
import { hexToBytes } from '../../src/_bytes.ts';
import { initCrypto } from '../../src/crypto.ts';

const [dir, mode, vaultId, keyHex] = process.argv.slice(2);
if (!dir || !mode || !vaultId || !keyHex) throw new Error('usage: _lock-child.ts <dir> <mode> <vault id> <key hex>');
await initCrypto();
// A frozen clock: a cold process's first append can take longer than the hold's time limit, which
// would give the lock up at once; these modes are about what happens while it is still held.
performance.now = () => 0;
const sink = fileAuditSink({ dir, lockTimeoutMs: 60_000 });
const context = { vaultId, macKey: hexToBytes(keyHex), now: Date.now() };
await sink.append({ actor: 'owner', generation: 0, action: 'secret.set', name: 'from-child', outcome: 'ok' }, context);

if (mode === 'append-once') {
  await sink.close();
} else if (mode === 'append-exit') {
  process.stdout.write(existsSync(`${sink.path}.lock`) ? 'held at exit\n' : 'not held\n');
  process.exit(0);
} else if (mode === 'append-hang') {
  process.stdout.write('holding\n');
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
} else {
  throw new Error(`unknown mode ${mode}`);
}
