/**
 * A monorepo of `total` files for the scan speed check: packages with sources, a `.env` in
 * every tenth package (one key each), a git-ignored `dist/` and a `node_modules/` holding a
 * third of the files. Plain module (no vitest), so the bench can use it too.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function makeBigTree(root: string, total = 10_000): { keys: string[]; files: number } {
  const keys: string[] = [];
  let files = 0;
  const write = (path: string, text: string) => {
    writeFileSync(path, text);
    files++;
  };
  write(join(root, '.gitignore'), 'node_modules/\ndist/\n*.log\n');
  const modules = join(root, 'node_modules');
  for (let i = 0; files < total / 3; i++) {
    const dir = join(modules, `dep-${i}`, 'lib');
    mkdirSync(dir, { recursive: true });
    for (let j = 0; j < 20; j++) write(join(dir, `f${j}.js`), 'module.exports = {};\n');
  }
  for (let p = 0; files < total; p++) {
    const pkg = join(root, 'packages', `pkg-${p}`);
    mkdirSync(join(pkg, 'src', 'lib'), { recursive: true });
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    write(join(pkg, 'package.json'), `{"name":"pkg-${p}"}\n`);
    for (let j = 0; j < 30 && files < total; j++) write(join(pkg, 'src', j % 2 ? 'lib' : '', `m${j}.ts`), 'export const x = 1;\n');
    for (let j = 0; j < 10 && files < total; j++) write(join(pkg, 'dist', `m${j}.js`), 'exports.x = 1;\n');
    if (p % 10 === 0 && files < total) {
      const key = `sk-proj-${randomBytes(24).toString('base64url')}`;
      keys.push(key);
      write(join(pkg, '.env'), `NODE_ENV=development\nOPENAI_API_KEY=${key}\nREQUEST_ID=${crypto.randomUUID()}\n`);
    }
  }
  return { keys, files };
}
