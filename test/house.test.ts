/**
 * The house rules that comments used to state, checked: only crypto.ts touches libsodium; the
 * core (what `import 'agent-vault'` loads) imports no node:* module; each key-derivation label
 * is written once; each error code has one class and a README row; the shipped types carry no
 * internal member.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.ts';
import { memoryBackend } from '../src/backends/memory.ts';
import { FAST_KDF } from './_fixtures/index.ts';

const root = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

const shipped = [...sourceFiles('src'), ...sourceFiles('adapters')];
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Specifiers a file loads when it is imported: static imports and re-exports, not `import type` or `import()`. */
function runtimeImports(file: string): string[] {
  const text = read(file);
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    found.push(match[1]!);
  }
  return found;
}

describe('the house', () => {
  it('only src/crypto.ts imports libsodium', () => {
    const importers = shipped.filter((file) => /from\s+['"]libsodium|import\(\s*['"]libsodium/.test(read(file)));
    expect(importers).toEqual(['src/crypto.ts']);
  });

  it('the core imports no node:* module and no package but libsodium (dynamic imports aside)', () => {
    const seen = new Set<string>();
    const outside: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of runtimeImports(file)) {
        if (specifier.startsWith('.')) visit(relative(root, resolve(root, dirname(file), specifier)));
        else if (specifier !== 'libsodium-wrappers' && specifier !== 'libsodium-wrappers-sumo') outside.push(`${file} → ${specifier}`);
      }
    };
    visit('src/index.ts');
    expect(seen).toContain('src/crypto.ts'); // the walk follows imports at all
    expect(seen.size).toBeGreaterThan(10);
    expect(outside).toEqual([]);
  });

  it('the walk would catch a node:* import (the check can fail)', () => {
    expect(runtimeImports('src/backends/file.ts').some((s) => s.startsWith('node:'))).toBe(true);
  });

  it('writes each key-derivation label once, in src/_keys.ts', () => {
    const labels = [...read('src/_keys.ts').matchAll(/'(agent-vault\/[a-z-]+\/v\d+)'/g)].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThanOrEqual(6);
    for (const label of labels) {
      const holders = shipped.filter((file) => read(file).includes(`'${label}'`));
      expect(holders, label).toEqual(['src/_keys.ts']);
    }
  });

  it('has one error class per code, every one exported and listed in the README', () => {
    const readme = read('README.md');
    const byCode = new Map<string, string[]>();
    for (const [name, value] of Object.entries(api)) {
      if (typeof value !== 'function' || value === api.VaultError || !(value.prototype instanceof api.VaultError)) continue;
      const error = new (value as new (a: string, b: string) => api.VaultError)('not-granted', 'message');
      byCode.set(error.code, [...(byCode.get(error.code) ?? []), name]);
      expect(readme, name).toContain(`\`${name}\``);
    }
    expect([...byCode.keys()].sort()).toEqual([...api.VAULT_ERROR_CODES].sort());
    for (const [code, classes] of byCode) {
      expect(classes, code).toHaveLength(1);
      expect(readme, code).toContain(`| \`${code}\` |`);
    }
  });

  it('a second vault and a missing vault raise their own classes', async () => {
    const backend = memoryBackend();
    const params = { passphrase: 'p', passphraseParams: FAST_KDF, audit: false as const };
    await (await api.createVault({ backend, ...params })).close();
    await expect(api.createVault({ backend, ...params })).rejects.toBeInstanceOf(api.VaultExistsError);
    await expect(api.openVault({ backend: memoryBackend(), ...params })).rejects.toBeInstanceOf(api.VaultNotFoundError);
  });

  it('the shipped .d.ts files carry no @internal member', () => {
    const declarations = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.d\.c?ts$/.test(file));
    expect(declarations.length).toBeGreaterThan(5);
    const all = declarations.map((file) => readFileSync(join(root, 'dist', file), 'utf8')).join('\n');
    expect(all).toContain('declare class Vault');
    expect(all).not.toMatch(/\b(_prepare|_open|_create|PreparedSecret)\b/);
  });
});
