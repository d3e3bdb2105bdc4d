/**
 * A hostile server cannot lie unnoticed: swapped, forged, replayed, rolled-back and dropped
 * records are IntegrityErrors, never a wrong value. Each test lets the real server answer, then
 * rewrites the answer the way a compromised server (or its operator) would.
 */
import { describe, expect, it } from 'vitest';
import { openVault, type Vault } from '../../src/index.ts';
import { hostileProxy, type ReadAnswer } from './_hostile.ts';
import { ownerOn, sqliteServer, type StoreKind, STORES, storeServer } from './_server.ts';

async function setup(store: StoreKind) {
  const server = await storeServer(store);
  const proxy = await hostileProxy(server.url);
  const { owner, keyFile } = await ownerOn(server.url, server.dir);
  await owner.set('openai-api-key', 'sk-one');
  await owner.set('anthropic-api-key', 'sk-ant');
  const { token } = await owner.createAgent('bot', { allow: ['*'] });
  const agent = await openVault({ server: proxy.url, token });
  return { server, proxy, owner, keyFile, agent };
}

const secretOf = (answer: ReadAnswer) => answer.entries.find((e) => e.key.startsWith('s/'))!;

async function lastSecretRead(agent: Vault, proxy: Awaited<ReturnType<typeof hostileProxy>>, name: string) {
  await agent.get(name);
  return structuredClone(proxy.reads.at(-1)!);
}

describe.each(STORES)('the client against a malicious server (%s)', (store) => {
  it('a record swapped for another name\'s is refused, under either key', async () => {
    const { proxy, agent } = await setup(store);
    const other = secretOf(await lastSecretRead(agent, proxy, 'anthropic-api-key'));
    proxy.tamper = (_keys, answer) => ({ ...answer, entries: answer.entries.map((e) => (e.key.startsWith('s/') ? other : e)) });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /swapped/ });
    // The other record relabelled with the asked-for key: the owner's signature binds the key.
    proxy.tamper = (keys, answer) => ({
      ...answer, entries: answer.entries.map((e) => (e.key.startsWith('s/') ? { ...other, key: keys[0]! } : e)),
    });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /not signed/ });
  });

  it('a flipped byte in a record or a forged deletion is refused', async () => {
    const { proxy, agent } = await setup(store);
    proxy.tamper = (_keys, answer) => ({
      ...answer,
      entries: answer.entries.map((e) => (e.key.startsWith('s/') ? { ...e, value: `${e.value!.slice(0, -4)}AAAA` } : e)),
    });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY' });
    proxy.tamper = (_keys, answer) => ({ ...answer, entries: answer.entries.map((e) => (e.key.startsWith('s/') ? { ...e, value: null } : e)) });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /not signed/ });
  });

  it('an old genuine record replayed after a newer one was seen is refused', async () => {
    const { proxy, owner, agent } = await setup(store);
    const old = await lastSecretRead(agent, proxy, 'openai-api-key');
    await owner.set('openai-api-key', 'sk-two');
    expect(await agent.get('openai-api-key')).toBe('sk-two');
    // The old record, under the current (genuine) state.
    proxy.tamper = (_keys, answer) => ({ ...answer, entries: answer.entries.map((e) => (e.key.startsWith('s/') ? secretOf(old) : e)) });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /replayed/ });
  });

  it('a rolled-back server (an old state with its old records) is refused', async () => {
    const { proxy, owner, agent } = await setup(store);
    const old = await lastSecretRead(agent, proxy, 'openai-api-key');
    await owner.set('openai-api-key', 'sk-two');
    expect(await agent.get('openai-api-key')).toBe('sk-two');
    proxy.tamper = () => old;
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /rolled back/ });
  });

  it('a dropped record (one seen before, with no signed deletion) is refused, not "not found"', async () => {
    const { proxy, owner, agent } = await setup(store);
    await agent.get('openai-api-key');
    proxy.tamper = (_keys, answer) => ({ ...answer, entries: answer.entries.filter((e) => !e.key.startsWith('s/')) });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /dropped/ });
    // A real deletion carries the owner's signature and reads as not found.
    proxy.tamper = undefined;
    await owner.delete('openai-api-key');
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('a dropped agent record, or a state signed by someone else, is refused', async () => {
    const { proxy, agent } = await setup(store);
    await agent.get('openai-api-key');
    proxy.tamper = (_keys, answer) => ({ ...answer, entries: answer.entries.filter((e) => !e.key.startsWith('a/')) });
    await agent.get('openai-api-key').catch(() => undefined); // the core reads its own record on the next call
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /dropped/ });
    proxy.tamper = (_keys, answer) => ({ ...answer, state: { rev: answer.state.rev + 5, sig: answer.state.sig } });
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY', message: /not signed/ });
  });

  it('the owner checks the same way: a forged record fails list and get', async () => {
    const { server, proxy, keyFile } = await setup(store);
    const owner = await openVault({ server: proxy.url, keyFile });
    expect(await owner.get('openai-api-key')).toBe('sk-one');
    proxy.tamper = (_keys, answer) => ({
      ...answer, entries: answer.entries.map((e) => (e.key.startsWith('s/') ? { ...e, rev: e.rev + 1 } : e)),
    });
    await expect(owner.get('openai-api-key')).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(owner.list()).rejects.toMatchObject({ code: 'INTEGRITY' });
    void server;
  });

  it('a server that pins another owner key than the token\'s vault id is refused before any read', async () => {
    const first = await setup(store);
    const other = await storeServer(store);
    await ownerOn(other.url, other.dir);
    const { token } = await first.owner.createAgent('bot2', { allow: ['*'] });
    await expect(openVault({ server: other.url, token })).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'wrong-vault' });
  });
});

describe('the owner remembers the newest state across runs', () => {
  it('a server restored from an old backup fails the owner\'s next run', async () => {
    const { copyFileSync } = await import('node:fs');
    const first = await sqliteServer();
    const { owner, keyFile } = await ownerOn(first.url, first.dir);
    await owner.set('openai-api-key', 'sk-one');
    await owner.close();
    await first.close();
    copyFileSync(first.database, `${first.database}.backup`);

    const second = await sqliteServer({ database: first.database });
    const again = await openVault({ server: second.url, keyFile });
    await again.set('openai-api-key', 'sk-two');
    await again.close();
    await second.close();

    const restored = await sqliteServer({ database: `${first.database}.backup` });
    await expect(openVault({ server: restored.url, keyFile })).rejects.toMatchObject({ code: 'INTEGRITY', message: /rolled back/ });
  });
});
