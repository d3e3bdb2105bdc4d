// A child process for file-backend-processes.test.ts. Plain `node _worker.ts` runs it: Node 24
// strips types itself, and src/ imports its siblings with .ts specifiers, so no build or loader.
// Usage: node _worker.ts <dir> write <prefix> <count>
//                        <dir> increment <count>
//                        <dir> hold          (prints "locked", waits)
//                        <dir> churn         (rewrites one key forever)
import { fileBackend } from '../../src/backends/file.ts';

const [dir, mode, ...args] = process.argv.slice(2);
if (!dir) throw new Error('usage: _worker.ts <dir> <mode> ...');
const backend = fileBackend({ dir, lockTimeoutMs: 20_000 });
const encode = (n: number) => new TextEncoder().encode(String(n));

if (mode === 'write') {
  const [prefix = 'w', count = '0'] = args;
  for (let i = 0; i < Number(count); i++) await backend.set(`${prefix}/${i}`, encode(i));
} else if (mode === 'increment') {
  for (let i = 0; i < Number(args[0]); i++) {
    await backend.withLock(async () => {
      const value = await backend.get('counter');
      const count = value ? Number(new TextDecoder().decode(value)) : 0;
      await backend.set('counter', encode(count + 1));
    });
  }
} else if (mode === 'hold') {
  await backend.withLock(async () => {
    process.stdout.write('locked\n');
    await new Promise(() => setInterval(() => undefined, 1_000));
  });
} else if (mode === 'churn') {
  // Alternating 256 KiB values of all-1 and all-2 bytes, so a torn write would show mixed bytes.
  for (let i = 0; ; i++) {
    await backend.set('k', new Uint8Array(256 * 1024).fill(1 + (i % 2)));
    if (i === 0) process.stdout.write('started\n');
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
await backend.close();
