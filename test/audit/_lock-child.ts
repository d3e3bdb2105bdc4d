// A child process for lock-hold.test.ts, run with plain node (Node 24 strips types).
// Usage: node _lock-child.ts <dir> <mode> <vault id> <audit key hex>
//   append-once   append one record ("from-child") and exit normally
//   append-exit   append one record, print whether the lock is still kept, process.exit() in the same turn
//   append-hang   append one record, print "holding", then block without ever yielding the lock
//   append-paced  append records 3 ms apart (the idle timer ticks in each pause) until stdin ends;
//                 after eleven, print how many locks it took for the last ten
import fs, { existsSync } from 'node:fs';
import { fileAuditSink } from '../../src/audit/file.ts';
import { hexToBytes } from '../../src/_bytes.ts';
import { initCrypto } from '../../src/crypto.ts';

const [dir, mode, vaultId, keyHex] = process.argv.slice(2);
if (!dir || !mode || !vaultId || !keyHex) throw new Error('usage: _lock-child.ts <dir> <mode> <vault id> <key hex>');
await initCrypto();
// A frozen clock: a cold process's first append can take longer than the hold's time limit, which
// would give the lock up at once; these modes are about what happens while it is still held.
performance.now = () => 0;
// staleLockMs: a kept lock is reused for at most half of it by the wall clock; far beyond the test.
const sink = fileAuditSink({ dir, lockTimeoutMs: 60_000, staleLockMs: 600_000 });
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
} else if (mode === 'append-paced') {
  const link = fs.linkSync;
  let links = 0;
  fs.linkSync = (...args: Parameters<typeof fs.linkSync>) => {
    links++;
    return link(...args);
  };
  let stop = false;
  process.stdin.on('data', () => (stop = true)).on('end', () => (stop = true));
  for (let i = 0; !stop; i++) {
    await sink.append({ actor: 'owner', generation: 0, action: 'secret.set', name: `paced-${i}`, outcome: 'ok' }, context);
    if (i === 0) links = 0;
    if (i === 10) process.stdout.write(`kept: ${links} locks taken for the 10 records after the first\n`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
  await sink.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}
