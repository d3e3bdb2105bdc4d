/**
 * A fleet: two `serve` processes over one database behave as one vault. Concurrent owners and
 * agents through both lose no update and leave exactly one audit record per operation; a
 * revocation through one process refuses the next request through the other; a server killed
 * with SIGKILL mid-write loses nothing it acknowledged and leaves nothing half-written.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVault, openVault, type Vault } from '../../src/index.ts';
import { tempDir } from '../_fixtures/index.ts';
import { freshDatabase } from './_postgres.ts';
import { serveProcess } from './_serve-process.ts';
import { type StoreKind, STORES } from './_server.ts';

async function database(store: StoreKind): Promise<string> {
  return store === 'sqlite' ? join(tempDir('av-fleet-'), 'vault.db') : freshDatabase();
}

async function auditRecords(owner: Vault) {
  const records = [];
  for await (const record of owner.readAudit()) records.push(record);
  return records;
}

describe.each(STORES)('two serve processes over one %s database', (store) => {
  it('concurrent owners and agents through both: no lost update, exact audit count, revocation everywhere', async () => {
    const db = await database(store);
    const [a, b] = [await serveProcess(db), await serveProcess(db)];
    const keyFile = join(tempDir('av-fleet-key-'), 'owner.key');
    const ownerA = await createVault({ server: a.url, keyFile });
    await ownerA.set('shared-counter', 'v0');
    await ownerA.set('openai-api-key', 'sk-fleet');
    const { token: token1 } = await ownerA.createAgent('bot1', { allow: ['openai-*'] });
    const { token: token2 } = await ownerA.createAgent('bot2', { allow: ['openai-*'] });
    const ownerB = await openVault({ server: b.url, keyFile });
    const agent1 = await openVault({ server: a.url, token: token1 });
    const agent2 = await openVault({ server: b.url, token: token2 });

    const SETS = 8;
    const READS = 40;
    const writes = (owner: Vault, tag: string) => (async () => {
      for (let i = 0; i < SETS; i++) {
        await owner.set('shared-counter', `${tag}-${i}`);
        await owner.set(`only-${tag}-${i}`, 'x');
      }
    })();
    const reads = (agent: Vault) => (async () => {
      for (let i = 0; i < READS; i++) expect(await agent.get('openai-api-key')).toBe('sk-fleet');
    })();
    await Promise.all([writes(ownerA, 'a'), writes(ownerB, 'b'), reads(agent1), reads(agent2)]);

    const secrets = await ownerB.list();
    // Every set of the shared secret made a new version: none was lost to a concurrent writer.
    expect(secrets.find((s) => s.name === 'shared-counter')!.version).toBe(1 + 2 * SETS);
    expect(secrets.filter((s) => s.name.startsWith('only-')).length).toBe(2 * SETS);

    const records = await auditRecords(ownerA);
    const count = (actor: string, action: string) => records.filter((r) => r.actor === actor && r.action === action && r.outcome === 'ok').length;
    expect(count('agent:bot1', 'secret.resolve')).toBe(READS);
    expect(count('agent:bot2', 'secret.resolve')).toBe(READS);
    expect(count('owner', 'secret.set')).toBe(2 + 4 * SETS);
    const report = await ownerB.verifyAudit();
    expect(report).toMatchObject({ ok: true, records: records.length });

    // Revoked through A; refused through B on the very next request.
    await ownerA.revokeAgent('bot2');
    await expect(agent2.get('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    expect(await agent1.get('openai-api-key')).toBe('sk-fleet');
    for (const vault of [ownerA, ownerB, agent1, agent2]) await vault.close();
    await a.kill();
    await b.kill();
  }, 120_000);

  it('a server killed with SIGKILL mid-write loses nothing it acknowledged and leaves nothing half-written', async () => {
    const db = await database(store);
    const first = await serveProcess(db);
    const keyFile = join(tempDir('av-crash-key-'), 'owner.key');
    const owner = await createVault({ server: first.url, keyFile });
    await owner.set('openai-api-key', 'sk-crash');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*'] });
    const agent = await openVault({ server: first.url, token });

    const acknowledged = new Map<string, string>();
    let resolved = 0;
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const value = `value-${i}-${'z'.repeat(i % 50)}`;
        try {
          await owner.set(`key-${i % 7}`, value);
          acknowledged.set(`key-${i % 7}`, value);
        } catch {
          return; // the server is gone
        }
      }
    })();
    const reader = (async () => {
      while (!stop) {
        try {
          await agent.get('openai-api-key');
          resolved++;
        } catch {
          return;
        }
      }
    })();
    // Kill once the vault is busy, wherever the writes happen to be.
    while (acknowledged.size < 7 || resolved < 20) await new Promise((r) => setTimeout(r, 5));
    await first.kill();
    stop = true;
    await Promise.all([writer, reader]);

    const second = await serveProcess(db);
    const after = await openVault({ server: second.url, keyFile });
    // list() opens and checks every record in full: a half-written one would fail it.
    const names = (await after.list()).map((s) => s.name);
    for (const [name, value] of acknowledged) {
      expect(names).toContain(name);
      const now = await after.get(name);
      // The acknowledged value, or the one in flight when the server died (written, not yet acknowledged).
      expect(now === value || now.startsWith('value-')).toBe(true);
      expect(Number(now.split('-')[1])).toBeGreaterThanOrEqual(Number(value.split('-')[1]));
    }
    const records = await auditRecords(after);
    const resolutions = records.filter((r) => r.actor === 'agent:bot' && r.action === 'secret.resolve' && r.outcome === 'ok').length;
    // Every resolution the agent received was audited first; at most the one in flight more.
    expect(resolutions).toBeGreaterThanOrEqual(resolved);
    expect(resolutions).toBeLessThanOrEqual(resolved + 1);
    expect((await after.verifyAudit()).ok).toBe(true);
    await after.close();
    await second.kill();
  }, 120_000);
});
