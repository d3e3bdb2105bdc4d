import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVaultDir, fileBackend } from '../../src/backends/file.ts';
import { BackendError, UsageError } from '../../src/errors.ts';
import { backendConformance } from '../../src/testing/index.ts';
import { tempDir } from '../_fixtures/index.ts';

backendConformance({ describe, it }, () => fileBackend({ dir: tempDir() }), {
  name: 'file backend conformance',
});

/** Every path under `root`, relative to it. */
function walk(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid;
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('file backend on disk', () => {
  it('creates missing directories 0700 and entry files 0600', async () => {
    const dir = join(tempDir(), 'a', 'b', 'vault');
    const backend = fileBackend({ dir });
    await backend.set('s/1', bytes('v'));
    await backend.withLock(async () => {
      expect(statSync(join(dir, '.lock')).mode & 0o777).toBe(0o600);
    });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    for (const name of files) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it('writes nothing outside its directory, whatever the key', async () => {
    const parent = tempDir();
    const dir = join(parent, 'vault');
    const backend = fileBackend({ dir });
    const hostile = [
      '..', '../x', '../../x', 'a/../../b', '/etc/passwd', '/', '.', './x', '..\\..\\x', 'C:\\x',
      '~/x', '%2e%2e%2fx', `${'../'.repeat(300)}x`, 'x'.repeat(1024), '.lock', '.tmp-x', 'a/b/c',
    ];
    for (const key of hostile) await backend.set(key, bytes(key));
    for (const key of hostile) expect(await backend.get(key)).toEqual(bytes(key));
    const written = walk(parent);
    for (const path of written) expect(path === 'vault' || path.startsWith(`vault${sep}`)).toBe(true);
    // Flat: every entry is a file directly in the directory.
    expect(walk(dir).every((name) => !name.includes(sep))).toBe(true);
    expect(readdirSync(dir)).toHaveLength(hostile.length);
    expect(relative(parent, dir)).toBe('vault');
  });

  it('puts no key or value bytes in file names', async () => {
    const dir = tempDir();
    const backend = fileBackend({ dir });
    const keys = ['openai-api-key', 'g/research-bot/openai', 'header', 'QQQQ'];
    for (const key of keys) await backend.set(key, bytes(`VALUE-${key}`));
    await backend.withLock(async () => {
      for (const name of readdirSync(dir)) {
        expect(name).toMatch(/^([0-9a-f]{64}|\.lock)$/);
        for (const word of ['openai', 'research', 'header', 'QQQQ', 'VALUE']) {
          expect(name.toLowerCase()).not.toContain(word.toLowerCase());
        }
      }
    });
    // The key is stored inside the file (list needs it), never in its name.
    const hash = createHash('sha256').update('header').digest('hex');
    expect(readFileSync(join(dir, hash)).includes(Buffer.from('header'))).toBe(true);
  });

  it('removes temp files left by dead writers when next opened', async () => {
    const dir = tempDir();
    await fileBackend({ dir }).set('k', bytes('v'));
    // Temp names are `.tmp-<first 8 hex of SHA-256(hostname)>-<pid>-<random>`.
    const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const dead = `.tmp-${hostTag}-${deadPid()}-abc`;
    const live = `.tmp-${hostTag}-${process.pid}-abc`;
    const foreignOld = '.tmp-00000000-1-abc';
    const foreignNew = '.tmp-00000000-2-abc';
    for (const name of [dead, live, foreignOld, foreignNew, 'notes.txt']) {
      writeFileSync(join(dir, name), 'partial');
    }
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(join(dir, foreignOld), old, old);
    const backend = fileBackend({ dir });
    expect(await backend.get('k')).toEqual(bytes('v'));
    const names = readdirSync(dir);
    expect(names).not.toContain(dead);
    expect(names).not.toContain(foreignOld);
    expect(names).toEqual(expect.arrayContaining([live, foreignNew, 'notes.txt']));
    expect(await backend.list('')).toEqual(['k']);
  });

  it('recovers a lock left by a dead process on this host at once', async () => {
    const dir = tempDir();
    const backend = fileBackend({ dir, lockTimeoutMs: 2_000 });
    await backend.set('k', bytes('v'));
    const lockInfo = { pid: deadPid(), hostname: hostname(), createdAt: Date.now(), token: 'x' };
    writeFileSync(join(dir, '.lock'), JSON.stringify(lockInfo));
    const started = Date.now();
    expect(await backend.withLock(async () => 'ran')).toBe('ran');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(readdirSync(dir)).not.toContain('.lock');
  });

  it('recovers a lock from another host once it has not been refreshed for staleLockMs', async () => {
    const dir = tempDir();
    const backend = fileBackend({ dir, staleLockMs: 500, lockTimeoutMs: 3_000 });
    await backend.set('k', bytes('v'));
    const lockInfo = { pid: 1, hostname: 'elsewhere', createdAt: Date.now(), token: 'x' };
    writeFileSync(join(dir, '.lock'), JSON.stringify(lockInfo));
    const started = Date.now();
    expect(await backend.compareAndSwap('k', bytes('v'), bytes('w'))).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('fails after lockTimeoutMs with a BackendError naming a live lock', async () => {
    const dir = tempDir();
    const backend = fileBackend({ dir, lockTimeoutMs: 200 });
    await backend.set('k', bytes('v'));
    const lockInfo = { pid: process.pid, hostname: hostname(), createdAt: Date.now(), token: 'x' };
    writeFileSync(join(dir, '.lock'), JSON.stringify(lockInfo));
    const error = await backend.withLock(async () => 'ran').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('BACKEND');
    expect((error as BackendError).message).toContain(join(dir, '.lock'));
    expect((error as BackendError).message).toContain(`pid ${process.pid}`);
  });

  it('runs nested withLock and compareAndSwap inside withLock directly', async () => {
    const backend = fileBackend({ dir: tempDir(), lockTimeoutMs: 500 });
    const result = await backend.withLock(async () => {
      await backend.compareAndSwap('k', undefined, bytes('1'));
      return backend.withLock(async () => 'inner');
    });
    expect(result).toBe('inner');
    expect(await backend.get('k')).toEqual(bytes('1'));
  });

  it('serves fresh values through the cache when another writer replaces a file', async () => {
    const dir = tempDir();
    const reader = fileBackend({ dir });
    const writer = fileBackend({ dir });
    await writer.set('k', bytes('one'));
    // Files are cached only once their ctime is more than a second old (see RACY_WINDOW_MS).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await reader.get('k')).toEqual(bytes('one'));
    const cached = await reader.get('k');
    cached![0] = 0;
    expect(await reader.get('k')).toEqual(bytes('one'));
    await writer.set('k', bytes('two'));
    expect(await reader.get('k')).toEqual(bytes('two'));
    await writer.set('k', bytes('333'));
    expect(await reader.get('k')).toEqual(bytes('333'));
    await writer.delete('k');
    expect(await reader.get('k')).toBeUndefined();
  });

  it('rejects keys it cannot store faithfully with a UsageError', async () => {
    const backend = fileBackend({ dir: tempDir() });
    for (const key of ['', 'x'.repeat(1025), 'a\0b', '\ud800', 'a\udc00b']) {
      await expect(backend.get(key)).rejects.toBeInstanceOf(UsageError);
      await expect(backend.set(key, bytes('v'))).rejects.toMatchObject({ code: 'USAGE' });
    }
    await expect(backend.set('k', 'v' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'USAGE' });
    await backend.set('x'.repeat(1024), bytes('v'));
  });

  it('reports fs failures as BackendError with the path and what to do, never the value', async () => {
    const parent = tempDir();
    const notADir = join(parent, 'file');
    writeFileSync(notADir, 'x');
    const error = await fileBackend({ dir: notADir }).set('k', bytes('SECRET-VALUE')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('BACKEND');
    expect((error as BackendError).message).toContain(notADir);
    expect((error as BackendError).message).toMatch(/not a directory/);
    expect((error as BackendError).message).not.toContain('SECRET');
  });

  it('detects truncated and swapped entry files', async () => {
    const dir = tempDir();
    const backend = fileBackend({ dir });
    await backend.set('a', bytes('SECRET-A'));
    await backend.set('b', bytes('SECRET-B'));
    const name = (key: string) => join(dir, createHash('sha256').update(key).digest('hex'));
    copyFileSync(name('a'), name('b'));
    await expect(backend.get('b')).rejects.toThrow(/belongs to another file name/);
    await expect(fileBackend({ dir }).list('')).rejects.toBeInstanceOf(BackendError);
    await backend.set('b', bytes('SECRET-B'));
    writeFileSync(name('b'), readFileSync(name('b')).subarray(0, -1));
    const error = await backend.get('b').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKEND', message: expect.stringMatching(/truncated/) });
    expect((error as Error).message).not.toContain('SECRET');
  });

  it('refuses use after close', async () => {
    const backend = fileBackend({ dir: tempDir() });
    await backend.close();
    await backend.close();
    await expect(backend.get('k')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('defaultVaultDir', () => {
  it('uses AGENT_VAULT_DIR first, relative to the working directory', () => {
    const root = tempDir();
    mkdirSync(join(root, '.agent-vault'));
    expect(defaultVaultDir({ cwd: root, env: { AGENT_VAULT_DIR: '/srv/v' }, home: '/h' })).toBe('/srv/v');
    expect(defaultVaultDir({ cwd: root, env: { AGENT_VAULT_DIR: 'v' }, home: '/h' })).toBe(join(root, 'v'));
  });

  it('finds .agent-vault in the working directory or its nearest parent', () => {
    const root = tempDir();
    const deep = join(root, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    mkdirSync(join(root, '.agent-vault'));
    mkdirSync(join(root, 'a', '.agent-vault'));
    writeFileSync(join(root, 'a', 'b', '.agent-vault'), 'a file is not a vault');
    expect(defaultVaultDir({ cwd: deep, env: {}, home: '/h' })).toBe(join(root, 'a', '.agent-vault'));
    expect(defaultVaultDir({ cwd: root, env: {}, home: '/h' })).toBe(join(root, '.agent-vault'));
  });

  it('falls back to ~/.agent-vault', () => {
    const root = tempDir();
    expect(defaultVaultDir({ cwd: root, env: { AGENT_VAULT_DIR: '' }, home: '/home/u' }))
      .toBe(join('/home/u', '.agent-vault'));
  });
});

describe('fileBackend revision', () => {
  it('vouches only for settled files, stays while they stand, and changes with any write, even in place with mtime restored', async () => {
    const dir = tempDir();
    const backend = fileBackend({ dir });
    await backend.set('k', bytes('one'));
    // Within the racy window a write could still be followed by one the stats cannot tell apart.
    expect(backend.revision('k')).toBeUndefined();
    const path = join(dir, createHash('sha256').update('k').digest('hex'));
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const first = backend.revision('k');
    expect(first).toEqual(expect.any(String));
    expect(backend.revision('k')).toBe(first);
    // Same inode, same size, same mtime: only the ctime tells, and it does.
    writeFileSync(path, readFileSync(path), { flag: 'r+' });
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = backend.revision('k');
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    await backend.delete('k');
    expect(backend.revision('k')).toBeUndefined();
  });
});
