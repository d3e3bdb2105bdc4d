/** Hostile names and hostile stored files, against the real file backend. */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVault, openVault, UsageError, VaultError } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fileBackend } from '../../src/backends/file.ts';
import { FAST_KDF, tempDir } from '../_fixtures/index.ts';

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('names', () => {
  const accepted = [
    '../x', '../../etc/passwd', '/etc/passwd', 'C:\\x', 'C:\\Windows\\System32', '__proto__', 'constructor',
    'prototype', 'hasOwnProperty', 'a/b', 'a\\b', '.', '..', 'a'.repeat(256), 'ключ', '🔑 key', 'ｆｕｌｌ',
    'Café', 'cafe\u0301-other',
  ];

  it('awkward names round-trip, never collide and never leave the vault directory', async () => {
    const root = tempDir('av-names-');
    const dir = join(root, 'vault');
    const owner = await createVault({ dir, keyFile: join(root, 'key'), audit: false });
    const before = listTree(root);
    for (const [i, name] of accepted.entries()) await owner.set(name, `value-${i}`);
    for (const [i, name] of accepted.entries()) expect(await owner.get(name)).toBe(`value-${i}`);
    // Listed in their canonical (NFC) form.
    expect((await owner.list()).map((s) => s.name).sort()).toEqual(accepted.map((n) => n.normalize('NFC')).sort());
    const added = listTree(root).filter((path) => !before.includes(path));
    expect(added.every((path) => path.startsWith('vault/') && !path.slice(6).includes('/'))).toBe(true);
    expect(added.join()).not.toMatch(/passwd|Windows|proto|constructor/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('NFC and NFD spellings are one secret (names are normalised to NFC)', async () => {
    const owner = await createVault({ backend: memoryBackend(), passphrase: 'p', passphraseParams: FAST_KDF });
    await owner.set('caf\u00e9', 'composed');
    expect(await owner.get('cafe\u0301')).toBe('composed');
    await owner.set('cafe\u0301', 'decomposed');
    expect(await owner.list()).toEqual([expect.objectContaining({ name: 'caf\u00e9', version: 2 })]);
  });

  it('empty, NUL, control characters, padded and oversized names are refused with a UsageError', async () => {
    const owner = await createVault({ backend: memoryBackend(), passphrase: 'p', passphraseParams: FAST_KDF });
    for (const name of ['', 'a\u0000b', '\u0000', 'line\nbreak', 'tab\there', ' padded', 'padded ', 'x'.repeat(257), 'é'.repeat(129), 'k'.repeat(10_240), 42, undefined]) {
      await expect(owner.set(name as string, 'v'), JSON.stringify(name)?.slice(0, 20)).rejects.toBeInstanceOf(UsageError);
      await expect(owner.get(name as string)).rejects.toBeInstanceOf(UsageError);
    }
    expect(await owner.list()).toEqual([]);
  });
});

describe('hostile files', () => {
  async function fileVault() {
    const root = tempDir('av-hostile-');
    const dir = join(root, 'vault');
    mkdirSync(dir, { recursive: true });
    const owner = await createVault({ dir, keyFile: join(root, 'key'), audit: false });
    await owner.set('k', 'v');
    return { dir, root, owner, backend: fileBackend({ dir }) };
  }

  it('a header with __proto__ keys, deep nesting or a 100 MB line is refused fast, and pollutes nothing', async () => {
    const { dir, root, backend } = await fileVault();
    const original = (await backend.get('header'))!;
    const header = JSON.parse(new TextDecoder().decode(original));
    const hostile = [
      `{"__proto__":{"polluted":"yes"},${JSON.stringify(header).slice(1)}`,
      JSON.stringify({ ...header, unlock: 'UNLOCK' }).replace('"UNLOCK"', '{"method":"key-file","__proto__":{"polluted":"yes"}}'),
      JSON.stringify({ ...header, extra: 1 }),
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      `{"a":"${'x'.repeat(100 * 1024 * 1024)}"}`,
      JSON.stringify({ ...header, format: 'agent-vault/3' }),
      JSON.stringify({ ...header, unlock: { method: 'telepathy' } }),
      JSON.stringify({ ...header, vaultId: 'A'.repeat(10_000) }),
      'null', '[]', '"string"', '',
    ];
    for (const text of hostile) {
      await backend.set('header', new TextEncoder().encode(text));
      const started = performance.now();
      const error = await openVault({ dir, keyFile: join(root, 'key'), audit: false }).then(() => undefined, (e: unknown) => e);
      expect(error, text.slice(0, 30)).toBeInstanceOf(VaultError);
      // BACKEND: the 100 MB one is refused by its size before it is read (MAX_ENTRY_BYTES).
      expect(['INTEGRITY', 'ACCESS_DENIED', 'BACKEND']).toContain((error as VaultError).code);
      expect(performance.now() - started, text.slice(0, 30)).toBeLessThan(3_000);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
    await backend.set('header', original);
    expect(await (await openVault({ dir, keyFile: join(root, 'key'), audit: false })).get('k')).toBe('v');
  });

  it('a secret record claiming 65,535 grants or a 4 GiB name is refused without allocating it', async () => {
    const { backend, owner } = await fileVault();
    const [key] = await backend.list('s/');
    const original = (await backend.get(key!))!;
    for (const [offset, bytes] of [[24, [0xff, 0xff]], [4, [0xff, 0xff, 0xff, 0xff]], [8, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]] as const) {
      const copy = original.slice();
      copy.set(bytes, offset);
      await backend.set(key!, copy);
      await expect(owner.get('k')).rejects.toMatchObject({ code: 'INTEGRITY' });
    }
  });

  it('a key file with the wrong shape or loose permissions is refused with what to do', async () => {
    const { dir, root } = await fileVault();
    const loose = join(root, 'loose.key');
    writeFileSync(loose, 'avk_AAAA\n', { mode: 0o644 });
    await expect(openVault({ dir, keyFile: loose })).rejects.toThrow(/chmod 600/);
    const garbage = join(root, 'garbage.key');
    writeFileSync(garbage, 'not a key', { mode: 0o600 });
    await expect(openVault({ dir, keyFile: garbage })).rejects.toThrow(/not an agent-vault key file/);
    const other = join(root, 'other.key');
    await createVault({ backend: memoryBackend(), keyFile: other });
    await expect(openVault({ dir, keyFile: other })).rejects.toMatchObject({ reason: 'wrong-unlock' });
  });
});
