/**
 * The package as a user gets it: `npm pack` of the built tree, unpacked into a fresh project's
 * node_modules, with only its own `dependencies` beside it (linked from this repository's
 * node_modules, since the tests run offline) and none of its optional peers. A peer is added with
 * `linkPackage`, or a stand-in with `writePackage`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './temp.ts';

const root = join(import.meta.dirname, '..', '..');

export interface PackedProject {
  /** The project directory (its package.json has no `type`: CommonJS by default, as `npm init -y` makes). */
  dir: string;
  /** Run `code` with node in the project, as ESM or CommonJS; stdout, stderr and the exit status. */
  run(code: string, type: 'module' | 'commonjs'): { stdout: string; stderr: string; status: number };
}

/** Pack once and install into a new project directory (a few seconds; call it once per test file). */
export function packedProject(): PackedProject {
  const dir = tempDir('agent-vault-packed-');
  const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
    .trim().split('\n').pop()!;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-project', version: '1.0.0', private: true }));
  const installed = join(dir, 'node_modules', 'agent-vault');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', installed, '--strip-components=1']);
  rmSync(join(dir, tarball));
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dependency of Object.keys(pkg.dependencies)) linkPackage(dir, dependency);
  return {
    dir,
    run(code, type) {
      try {
        const stdout = execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
        return { stdout, stderr: '', status: 0 };
      } catch (error) {
        const failed = error as { stdout: string; stderr: string; status: number };
        return { stdout: failed.stdout, stderr: failed.stderr, status: failed.status };
      }
    },
  };
}

/** Put this repository's installed copy of `name` into the project (a symlink; Node follows it to its own dependencies). */
export function linkPackage(dir: string, name: string): void {
  const target = join(dir, 'node_modules', name);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(root, 'node_modules', name), target, 'dir');
}

/** Replace `name` in the project with a stand-in package made of `files` (path → contents). */
export function writePackage(dir: string, name: string, files: Record<string, string>): void {
  const target = join(dir, 'node_modules', name);
  rmSync(target, { recursive: true, force: true });
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), contents);
  }
}

/** Remove `name` from the project again. */
export function removePackage(dir: string, name: string): void {
  rmSync(join(dir, 'node_modules', name), { recursive: true, force: true });
}
