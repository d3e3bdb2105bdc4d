// A child process for the audit reliability tests, run with plain node (Node 24 strips types).
// The agent token comes in AGENT_VAULT_TOKEN, so it is never on a command line.
// Usage: node _worker.ts <dir> resolve <name> <count>   resolve once, print "ready", wait for a line
//                                                       on stdin, resolve count times, exit
//        node _worker.ts <dir> loop <name>              print "running", resolve until killed
//        node _worker.ts <dir> torn <name>              resolve once, then start a second append,
//                                                       write half the record, print "torn", hang
import fs from 'node:fs';
import { openVault } from '../../src/index.ts';

const [dir, mode, name = '', count = '0'] = process.argv.slice(2);
if (!dir || !mode) throw new Error('usage: _worker.ts <dir> <mode> <name> [count]');
const vault = await openVault({ dir });

if (mode === 'resolve') {
  // Opened and warmed up: wait for the parent's "go" on stdin so all workers start together.
  await vault.use(name, () => undefined);
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  for (let i = 0; i < Number(count); i++) await vault.use(name, () => undefined);
  await vault.close();
} else if (mode === 'loop') {
  await vault.use(name, () => undefined);
  process.stdout.write('running\n');
  for (;;) await vault.use(name, () => undefined);
} else if (mode === 'torn') {
  await vault.use(name, () => undefined);
  const write = fs.writeSync;
  // The sink writes each record with one fs.writeSync: let half of the next one reach the file,
  // then stop here, as a process killed in the middle of that write() would.
  (fs as { writeSync: unknown }).writeSync = (fd: number, data: Buffer, ...rest: unknown[]) => {
    if (!(data instanceof Uint8Array) || !Buffer.from(data).includes('"seq":')) {
      return (write as (...args: unknown[]) => number)(fd, data, ...rest);
    }
    write(fd, data, 0, Math.floor(data.length / 2));
    process.stdout.write('torn\n');
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
  };
  await vault.use(name, () => undefined);
} else {
  throw new Error(`unknown mode ${mode}`);
}
