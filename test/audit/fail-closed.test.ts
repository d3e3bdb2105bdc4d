// Fail closed: when the record cannot be written, use()/get() throw AuditError and the canary
// value is never handed out. Failures are real where the OS lets us make them (a directory in the
// log's place, a read-only file for a non-root user) and injected at the fs call where it does
// not (ENOSPC, EACCES as root).
import fs, { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditError, type Vault } from '../../src/index.ts';
import { agentVault, CANARY, logPath, ownerVault, readLines, records } from './_fixture.ts';
import { FAST_KDF } from '../_fixtures/index.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** get() and use() both refuse, with AuditError, and never run the callback or return the value. */
async function expectFailsClosed(vault: Vault, code: string): Promise<void> {
  const seen: unknown[] = [];
  const refusal = await vault.get('openai-api-key').then((value) => { seen.push(value); }, (error: unknown) => error);
  let called = false;
  const refusal2 = await vault.use('openai-api-key', (secret) => {
    called = true;
    seen.push(secret.text());
  }).catch((error: unknown) => error);
  expect(seen).toEqual([]);
  expect(called).toBe(false);
  for (const error of [refusal, refusal2]) {
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: 'AUDIT' });
    const text = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)} ` +
      `${((error as Error).cause as Error)?.message}`;
    expect(text).not.toContain(CANARY);
    expect(text).toContain(code);
  }
}

async function agentOf(dir: string, owner: Vault): Promise<Vault> {
  const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
  return agentVault(dir, token);
}

describe('a sink that cannot write', () => {
  it('ENOSPC mid-record: AuditError, no value, and no torn record left behind', async () => {
    const { dir, owner } = await ownerVault();
    const agent = await agentOf(dir, owner);
    const before = readFileSync(logPath(dir));
    const write = fs.writeSync;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: Uint8Array, ...rest: unknown[]) => {
      if (!Buffer.from(data).includes('"seq":')) return (write as (...a: unknown[]) => number)(fd, data, ...rest);
      write(fd, data, 0, 50); // the disk fills halfway through the record
      throw errno('ENOSPC');
    }) as typeof fs.writeSync);
    await expectFailsClosed(agent, 'ENOSPC');
    vi.restoreAllMocks();
    expect(readFileSync(logPath(dir))).toEqual(before);
    // Space again: resolution and the chain go on.
    expect(await agent.get('openai-api-key')).toBe(CANARY);
    expect(await owner.verifyAudit()).toMatchObject({ ok: true, records: 4 });
    await agent.close();
    await owner.close();
  });

  it('ENOSPC while taking the lock', async () => {
    const { dir, owner } = await ownerVault();
    const agent = await agentOf(dir, owner);
    vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw errno('ENOSPC');
    });
    // Only the lock's files: the file backend reads its entries with openSync too (synchronously).
    const open = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((path: fs.PathLike, ...rest: unknown[]) => {
      if (String(path).startsWith(`${logPath(dir)}.lock`)) throw errno('ENOSPC');
      return (open as (...a: unknown[]) => number)(path, ...rest);
    }) as typeof fs.openSync);
    await expectFailsClosed(agent, 'ENOSPC');
    await agent.close();
    await owner.close();
  });

  it('EACCES opening the log', async () => {
    const { dir, owner } = await ownerVault();
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    const open = fs.openSync;
    vi.spyOn(fs, 'openSync').mockImplementation(((path: fs.PathLike, ...rest: unknown[]) => {
      if (String(path) === logPath(dir)) throw errno('EACCES');
      return (open as (...a: unknown[]) => number)(path, ...rest);
    }) as typeof fs.openSync);
    const agent = await agentVault(dir, token);
    await expectFailsClosed(agent, 'EACCES');
    await agent.close();
    await owner.close();
  });

  it.skipIf(process.getuid?.() === 0)('EACCES for real: a read-only log (not as root, which ignores modes)', async () => {
    const { dir, owner } = await ownerVault();
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    chmodSync(logPath(dir), 0o400);
    try {
      const agent = await agentVault(dir, token);
      await expectFailsClosed(agent, 'EACCES');
      await agent.close();
    } finally {
      chmodSync(logPath(dir), 0o600);
    }
    await owner.close();
  });

  it('EISDIR for real: a directory where the log should be', async () => {
    const { dir, owner } = await ownerVault();
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    rmSync(logPath(dir));
    mkdirSync(logPath(dir));
    const agent = await agentVault(dir, token);
    await expectFailsClosed(agent, 'EISDIR');
    await agent.close();
    await owner.close();
  });

  it('a damaged last record: appends refuse until the owner looks', async () => {
    const { dir, owner } = await ownerVault();
    const agent = await agentOf(dir, owner);
    fs.appendFileSync(logPath(dir), '{"seq":99,"not":"a record"}\n');
    const error = await agent.get('openai-api-key').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditError);
    expect((error as Error).message).toMatch(/damaged.*verifyAudit/);
    expect(await owner.verifyAudit()).toMatchObject({ ok: false, problem: { kind: 'modified', seq: 4 } });
    await agent.close();
    await owner.close();
  });

  it('another vault\'s log in the directory', async () => {
    const { dir, owner } = await ownerVault();
    const agent = await agentOf(dir, owner);
    const other = await ownerVault();
    fs.copyFileSync(logPath(other.dir), logPath(dir));
    await expect(agent.get('openai-api-key')).rejects.toThrow(/belongs to vault/);
    await agent.close();
    await owner.close();
    await other.owner.close();
  });

  it('a custom sink that rejects', async () => {
    const { createVault, openVault } = await import('../../src/index.ts');
    const { memoryBackend } = await import('../../src/backends/memory.ts');
    const backend = memoryBackend();
    const owner = await createVault({ backend, passphrase: 'x', passphraseParams: FAST_KDF });
    await owner.set('openai-api-key', CANARY);
    const { token } = await owner.createAgent('bot', { allow: ['*'] });
    const agent = await openVault({
      backend, token, audit: { append: () => Promise.reject(errno('EROFS')) },
    });
    await expectFailsClosed(agent, 'EROFS');
  });

  it('a denial still reads as a denial when its record cannot be written', async () => {
    const { dir, owner } = await ownerVault();
    const agent = await agentOf(dir, owner);
    vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw errno('ENOSPC');
    });
    await expect(agent.get('not-granted-here')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    vi.restoreAllMocks();
    expect(records(dir).every((r) => r.name !== 'not-granted-here')).toBe(true);
    expect(readLines(dir)).toHaveLength(3);
    await agent.close();
    await owner.close();
  });
});
