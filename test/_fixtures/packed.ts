/**
 * The package as a user installs it: `npm pack` of this checkout plus tarballs of its runtime
 * dependencies and of `openai`, packed from this checkout's node_modules, so a fresh project can
 * `npm install --offline` them with no registry at all.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp.ts';

const root = join(import.meta.dirname, '..', '..');

function pack(dir: string, destination: string): string {
  const name = execFileSync('npm', ['pack', dir, '--pack-destination', destination, '--ignore-scripts', '--silent'], {
    encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' },
  }).trim().split('\n').at(-1) as string;
  return join(destination, name);
}

/** Tarballs of agent-vault and of every package `extra` and its dependencies need, transitively. */
export function packedTarballs(extra: string[]): string[] {
  const destination = tempDir('agent-vault-pack-');
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const tarballs = [pack(root, destination)];
  const seen = new Set<string>();
  const queue = [...Object.keys(own.dependencies ?? {}), ...extra];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) throw new Error(`${name} is not in node_modules; run npm ci`);
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    queue.push(...Object.keys(json.dependencies ?? {}));
    tarballs.push(pack(dir, destination));
  }
  return tarballs;
}
