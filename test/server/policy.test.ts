/**
 * What the server enforces, tried as an attacker would: with a token, with raw HTTP, with the
 * database file. Each test performs the attack and asserts what the attacker got.
 */
import { describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { agentHeader, call, databaseBytes, ownerOn, type StoreKind, STORES, storeServer } from './_server.ts';

const VALUE = 'sk-canary-7f3a9c1e5b';

async function fleet(store: StoreKind, options: Parameters<typeof storeServer>[1] = {}) {
  const server = await storeServer(store, options);
  const { owner, keyFile } = await ownerOn(server.url, server.dir);
  await owner.set('openai-api-key', VALUE);
  await owner.set('other-secret', 'not-for-bots');
  const { token } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1h' });
  return { server, owner, keyFile, token };
}

async function auditOf(owner: Awaited<ReturnType<typeof fleet>>['owner']) {
  const records = [];
  for await (const record of owner.readAudit()) records.push(record);
  return records.reverse();
}

describe.each(STORES)('the server enforces policy (%s)', (store) => {
  it('revocation refuses the very next request of an open agent', async () => {
    const { server, owner, token } = await fleet(store);
    const agent = await openVault({ server: server.url, token });
    expect(await agent.get('openai-api-key')).toBe(VALUE);
    await owner.revokeAgent('bot');
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    // Even a client that skips every local check is refused by the server itself.
    const raw = await call(server.url, '/v1/read', { keys: [`s/${'0'.repeat(32)}`] }, agentHeader(token));
    expect(raw.status).toBe(403);
    expect(raw.body.error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    // The state is refused to it too: a revoked token reads nothing at all.
    const state = await call(server.url, '/v1/read', { keys: ['state'] }, agentHeader(token));
    expect(state.status).toBe(403);
  });

  it('rotation kills the old token at once; the new one works', async () => {
    const { server, owner, token } = await fleet(store);
    const { token: fresh } = await owner.rotateAgent('bot');
    await expect((await openVault({ server: server.url, token })).get('openai-api-key')).rejects.toMatchObject({ reason: 'rotated' });
    expect(await (await openVault({ server: server.url, token: fresh })).get('openai-api-key')).toBe(VALUE);
  });

  it('expiry is checked by the server clock, not the agent\'s', async () => {
    let clock = Date.now();
    const server = await storeServer(store, { now: () => clock });
    const { owner } = await ownerOn(server.url, server.dir);
    await owner.set('openai-api-key', VALUE);
    const { token } = await owner.createAgent('bot', { allow: ['*'], ttl: '1h' });
    // An agent whose own clock says it is still early.
    const agent = await openVault({ server: server.url, token, now: () => Date.now() });
    expect(await agent.get('openai-api-key')).toBe(VALUE);
    clock += 2 * 3600_000;
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('an agent cannot skip the audit: a raw read by a client that writes nothing is recorded', async () => {
    const { server, owner, token } = await fleet(store);
    const before = (await auditOf(owner)).length;
    const agent = await openVault({ server: server.url, token });
    await agent.get('openai-api-key');
    const records = await auditOf(owner);
    expect(records.length).toBe(before + 1);
    expect(records.at(-1)).toMatchObject({ actor: 'agent:bot', action: 'secret.resolve', name: 'openai-api-key', outcome: 'ok' });
    expect((await owner.verifyAudit()).ok).toBe(true);
  });

  it('an agent reads no other record: not the header, another agent, a policy, or a secret it lacks', async () => {
    const { server, owner, token } = await fleet(store);
    await owner.createAgent('other', { allow: ['*'] });
    const auth = agentHeader(token);
    for (const key of ['header', 'pending', `a/${'1'.repeat(32)}`, `p/${'2'.repeat(32)}`]) {
      const raw = await call(server.url, '/v1/read', { keys: [key] }, auth);
      expect(raw.status).toBe(403);
      expect(raw.body.error.code).toBe('ACCESS_DENIED');
    }
    // The owner-signed state is the one shared record an agent reads (it checks every record against it).
    const state = await call(server.url, '/v1/read', { keys: ['state'] }, auth);
    expect(state.status).toBe(200);
    expect(state.body.entries.map((e: { key: string }) => e.key)).toContain('state');
    const agent = await openVault({ server: server.url, token });
    await expect(agent.get('other-secret')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    for (const path of ['/v1/list', '/v1/write', '/v1/audit', '/v1/lease']) {
      const raw = await call(server.url, path, { prefix: 's/', events: [], state: {}, entries: [], holder: 'x'.repeat(20), ttlMs: 1 }, auth);
      expect([400, 403]).toContain(raw.status);
      expect(raw.status === 403 || raw.body.error.code === 'USAGE').toBe(true);
    }
    const lines = await call(server.url, '/v1/audit?after=0', undefined, auth);
    expect(lines.status).toBe(403);
  });

  it('a wrong auth key for a real agent is refused and recorded; no auth at all is refused', async () => {
    const { server, owner, token } = await fleet(store);
    const forged = agentHeader(token).replace(/.{6}$/, 'AAAAAA');
    const raw = await call(server.url, '/v1/read', { keys: [`s/${'0'.repeat(32)}`] }, forged);
    expect(raw.status).toBe(401);
    expect(raw.body.error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'bad-token' });
    expect((await auditOf(owner)).at(-1)).toMatchObject({ actor: 'agent:bot', outcome: 'denied', reason: 'bad-token' });
    expect((await call(server.url, '/v1/read', { keys: ['header'] })).status).toBe(401);
  });

  it('the database holds no secret value, no secret name and no token', async () => {
    const { server, token } = await fleet(store);
    const agent = await openVault({ server: server.url, token });
    await agent.get('openai-api-key');
    const all = await databaseBytes(store, server);
    expect(all.length).toBeGreaterThan(1000);
    for (const needle of [VALUE, 'openai-api-key', 'other-secret', 'not-for-bots', token, token.slice(4, 40)]) {
      expect(all.includes(Buffer.from(needle)), needle).toBe(false);
    }
  });

  it('a stolen token without the server opens nothing: the agent process holds no ciphertext', async () => {
    const { server, token } = await fleet(store);
    const agent = await openVault({ server: server.url, token });
    await agent.get('openai-api-key');
    await server.close();
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'BACKEND' });
  });

  it('the owner alone writes, and only records signed by the vault owner', async () => {
    const { server, token } = await fleet(store);
    const sig = 'A'.repeat(86);
    const forged = { state: { rev: 99, sig }, entries: [{ key: `s/${'3'.repeat(32)}`, value: 'AAAA', rev: 99, sig }] };
    expect((await call(server.url, '/v1/write', forged, agentHeader(token))).status).toBe(403);
    const ownerless = await call(server.url, '/v1/write', forged, 'AgentVault owner ' + 'A'.repeat(43));
    expect(ownerless.status).toBe(403);
    // A second creation cannot take the server over.
    const { owner } = await ownerOn(server.url, server.dir).catch((error) => ({ owner: undefined, error }));
    expect(owner).toBeUndefined();
  });
});

describe.each(STORES)('the server\'s limits and errors (%s)', (store) => {
  it('refuses an oversized body with 413 and JSON', async () => {
    const server = await storeServer(store, { maxBodyBytes: 1024 });
    const raw = await call(server.url, '/v1/read', JSON.stringify({ keys: ['x'.repeat(4096)] }));
    expect(raw.status).toBe(413);
    expect(raw.body.error).toMatchObject({ code: 'BACKEND', reason: 'too-large' });
  });

  it('rate-limits each principal on its own', async () => {
    // The owner's setup spends the owner's bucket, not the agent's.
    const { server, token } = await fleet(store, { ratePerSecond: 0.001, burst: 60 });
    const auth = agentHeader(token);
    const statuses = [];
    for (let i = 0; i < 62; i++) statuses.push((await call(server.url, '/v1/read', { keys: ['header'] }, auth)).status);
    expect(statuses.slice(0, 60).every((status) => status === 403)).toBe(true);
    expect(statuses.slice(60)).toEqual([429, 429]);
  });

  it('answers health without auth, and malformed requests with USAGE', async () => {
    const server = await storeServer(store);
    expect(await call(server.url, '/v1/health')).toEqual({ status: 200, body: { ok: true, store, vault: null } });
    const bad = await call(server.url, '/v1/vault', 'not json');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('USAGE');
    const none = await call(server.url, '/v1/nothing', {});
    expect(none.status).toBe(404);
  });
});
