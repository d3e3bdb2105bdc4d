/**
 * `node bench/scan.ts [FILES]`: how long `scan` takes over a monorepo of FILES files (default
 * 10,000; see test/scan/_big-tree.ts), cold (first walk) and warm (the OS has the directories
 * cached), median of 5. Prints the times; asserts nothing (a loaded machine is slower).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCrypto } from '../src/crypto.ts';
import { scan } from '../src/scan/index.ts';
import { makeBigTree } from '../test/scan/_big-tree.ts';

const total = Number(process.argv[2] ?? 10_000);
const root = mkdtempSync(join(tmpdir(), 'agent-vault-bench-scan-'));
try {
  await initCrypto();
  const tree = makeBigTree(root, total);
  const times: number[] = [];
  let found = 0;
  for (let round = 0; round < 6; round++) {
    const start = performance.now();
    found = scan({ paths: [root], environment: false, home: false }).findings.length;
    times.push(performance.now() - start);
  }
  const [cold, ...warm] = times;
  warm.sort((a, b) => a - b);
  console.log(`scan over ${tree.files} files (${tree.keys.length} keys planted, ${found} found):`);
  console.log(`  first run ${cold!.toFixed(0)} ms; then median ${warm[2]!.toFixed(0)} ms (range ${warm[0]!.toFixed(0)}–${warm[4]!.toFixed(0)} ms)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
