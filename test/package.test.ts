/**
 * The package's face: the exports map, the tsup entries and the built files agree; both module
 * systems load; importing the core loads no SDK and no driver.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries } from '../tsup.config.ts';
import { tempDir } from './_fixtures/index.ts';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function run(code: string, type: 'module' | 'commonjs', env?: NodeJS.ProcessEnv): string {
  const flag = type === 'module' ? '--input-type=module' : '--input-type=commonjs';
  return execFileSync(process.execPath, [flag, '-e', code], { cwd: root, encoding: 'utf8', env: env && { ...process.env, ...env } });
}

/** Run `code` (ESM, the built package) and list every module URL it resolved, then its last output line. */
function modulesLoadedBy(code: string, env?: NodeJS.ProcessEnv): { loaded: string; output: string } {
  const out = run(
    `const seen = [];
     const { registerHooks } = await import('node:module');
     registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
     ${code}
     console.log(JSON.stringify(seen));`,
    'module',
    env,
  ).trim().split('\n');
  return { loaded: (JSON.parse(out.at(-1)!) as string[]).join('\n'), output: out.at(-2) ?? '' };
}

describe('package', () => {
  it('every export has a tsup entry and built ESM, CJS and type files', () => {
    const subpaths = Object.keys(pkg.exports).filter((key) => key !== './package.json');
    const fromEntries = Object.keys(entries).map((entry) =>
      entry === 'index' ? '.' : `./${entry.replace(/\/index$/, '')}`,
    );
    expect(subpaths.sort()).toEqual(fromEntries.sort());
    for (const subpath of subpaths) {
      const target = pkg.exports[subpath];
      for (const file of [target.import, target.require, target.import.replace(/\.js$/, '.d.ts')]) {
        expect(existsSync(join(root, file)), `${subpath}: ${file}`).toBe(true);
      }
    }
  });

  it('declares Node >= 22, no side effects, and only optional peers', () => {
    expect(pkg.engines.node).toBe('>=22');
    expect(pkg.sideEffects).toBe(false);
    for (const peer of Object.keys(pkg.peerDependencies ?? {})) {
      expect(pkg.peerDependenciesMeta[peer]?.optional, peer).toBe(true);
    }
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['libsodium-wrappers', 'libsodium-wrappers-sumo', 'read']);
  });

  it('publint finds nothing wrong with the package as it would be published', () => {
    const out = execFileSync(process.execPath, [join(root, 'node_modules', 'publint', 'src', 'cli.js'), '--strict'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toContain('All good!');
  }, 60_000);

  it('loads with import() and require()', () => {
    expect(run("import('agent-vault').then((m) => console.log(typeof m.openVault))", 'module').trim()).toBe('function');
    expect(run("console.log(typeof require('agent-vault').openVault)", 'commonjs').trim()).toBe('function');
  });

  it('importing the core loads no SDK and no database driver', () => {
    const code = `
      import { createRequire } from 'node:module';
      await import('agent-vault');
      const loaded = Object.keys(createRequire(import.meta.url).cache ?? {});
      console.log(JSON.stringify(loaded));`;
    const loadedCjs = JSON.parse(run(code, 'module')) as string[];
    const esm = run(
      `const seen = [];
       const { registerHooks } = await import('node:module');
       registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
       await import('agent-vault');
       console.log(JSON.stringify(seen));`,
      'module',
    );
    const all = [...loadedCjs, ...(JSON.parse(esm) as string[])].join('\n');
    expect(all).toMatch(/libsodium/);
    for (const forbidden of ['openai', '@anthropic-ai', 'anthropic-v0', '@ai-sdk', '@google/genai', '@mistralai', 'groq-sdk', '@langchain', '@openai', '@modelcontextprotocol', 'pg', 'redis', 'better-sqlite3', 'undici']) {
      expect(all).not.toMatch(new RegExp(`node_modules/${forbidden}/`));
    }
  });

  it('an agent opening a vault and resolving a key never loads the sumo build (Argon2id is for owners)', () => {
    const dir = join(tempDir(), 'vault');
    const keyFile = join(dir, '..', 'owner.key');
    // A key-file owner needs no Argon2id either; a passphrase owner does (below: the check can fail).
    const owner = modulesLoadedBy(`
      const { createVault } = await import('agent-vault');
      const owner = await createVault({ dir: ${JSON.stringify(dir)}, keyFile: ${JSON.stringify(keyFile)}, audit: false });
      await owner.set('openai-api-key', 'sk-cold-start-check');
      console.log((await owner.createAgent('cold-bot', { allow: ['openai-*'] })).token);`);
    expect(owner.loaded).toMatch(/node_modules\/libsodium-wrappers\//);
    expect(owner.loaded).not.toMatch(/libsodium-wrappers-sumo|libsodium-sumo/);
    const agent = modulesLoadedBy(`
      const { openVault } = await import('agent-vault');
      const vault = await openVault({ dir: ${JSON.stringify(dir)}, token: process.env.COLD_TOKEN, audit: false });
      console.log(await vault.get('openai-api-key') === 'sk-cold-start-check');`, { COLD_TOKEN: owner.output });
    expect(agent.output).toBe('true');
    expect(agent.loaded).toMatch(/node_modules\/libsodium-wrappers\//);
    expect(agent.loaded).not.toMatch(/libsodium-wrappers-sumo|libsodium-sumo/);
    const passphraseOwner = modulesLoadedBy(`
      const { createVault } = await import('agent-vault');
      await createVault({ dir: ${JSON.stringify(join(dir, '..', 'second'))}, passphrase: 'pw', passphraseParams: { opslimit: 1, memlimit: 8 << 20 }, audit: false });
      console.log('made');`);
    expect(passphraseOwner.output).toBe('made');
    expect(passphraseOwner.loaded).toMatch(/node_modules\/libsodium-wrappers-sumo\//);
  }, 60_000);
});
