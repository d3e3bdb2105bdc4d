/**
 * How long `scan` takes over a monorepo of `total` files (default 10,000; see
 * test/scan/_big-tree.ts), cold (first walk) and warm (the OS has the directories cached),
 * median of 5. Part of `npm run bench` (section `scan`); alone: `node bench/scan.ts [FILES]`.
 * Asserts nothing (a loaded machine is slower).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCrypto } from '../src/crypto.ts';
import { scan } from '../src/scan/index.ts';
import { makeBigTree } from '../test/scan/_big-tree.ts';

export interface ScanBench {
  files: number;
  planted: number;
  found: number;
  firstMs: number;
  medianMs: number;
  rangeMs: [number, number];
}

export async function scanBench(total = 10_000): Promise<ScanBench> {
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
    const [first, ...warm] = times;
    warm.sort((a, b) => a - b);
    return { files: tree.files, planted: tree.keys.length, found, firstMs: first!, medianMs: warm[2]!, rangeMs: [warm[0]!, warm[4]!] };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const r = await scanBench(Number(process.argv[2] ?? 10_000));
  console.log(`scan over ${r.files} files (${r.planted} keys planted, ${r.found} found):`);
  console.log(`  first run ${r.firstMs.toFixed(0)} ms; then median ${r.medianMs.toFixed(0)} ms (range ${r.rangeMs[0].toFixed(0)}–${r.rangeMs[1].toFixed(0)} ms)`);
}
