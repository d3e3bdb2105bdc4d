/**
 * Build dist/ when it is missing or older than the sources. The test suite's global setup and
 * the example scripts call this: package tests, CLI tests and examples run what users run, the
 * built package. `node scripts/build-if-stale.ts` runs it by hand.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const stamp = join(root, 'dist', 'index.js');
  const sources = Math.max(newest(join(root, 'src')), existsSync(join(root, 'adapters')) ? newest(join(root, 'adapters')) : 0,
    statSync(join(root, 'tsup.config.ts')).mtimeMs, statSync(join(root, 'tsconfig.json')).mtimeMs,
    statSync(join(root, 'package.json')).mtimeMs);
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js')], { cwd: root, stdio: 'ignore' });
}

if (process.argv[1] === import.meta.filename) setup();
