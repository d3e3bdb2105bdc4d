/**
 * `agent update` on a server vault: the server takes an agent's policy (expiry) from the record
 * the owner signs and its grants from the secret records, so an update written through the
 * owner's ordinary path is enforced by the server itself: a narrowed agent is refused the secret
 * even by a raw client that skips every local check, and a longer ttl is honoured by the server
 * clock.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../../src/_bytes.ts';
import { decodeAgent, openPolicy } from '../../src/_records.ts';
import { fromBase64Url } from '../../src/crypto.ts';
import { openVault } from '../../src/index.ts';
import { parseToken } from '../../src/token.ts';
import { agentHeader, call, ownerOn, STORES, storeServer } from './_server.ts';

/** The name id of `name` as the agent's own (owner-signed) record lists it, read raw from the server. */
async function nameIdFor(url: string, token: string, name: string): Promise<string> {
  const me = parseToken(token);
  const key = `a/${bytesToHex(me.loc)}`;
  const raw = await call(url, '/v1/read', { keys: [key] }, agentHeader(token));
  const entry = raw.body.entries.find((e: { key: string }) => e.key === key);
  const record = decodeAgent(fromBase64Url(entry.value), { vaultId: me.vaultId, key, publicKey: me.ownerKey });
  return openPolicy(me.vaultId, me.agentId, record, me.agentKey, 'own record').names[name]!;
}

describe.each(STORES)('agent update on a server vault (%s)', (store) => {
  it('narrowing is enforced by the server, widening and a longer ttl too; the token stays', async () => {
    let clock = Date.now();
    const server = await storeServer(store, { now: () => clock });
    const { owner } = await ownerOn(server.url, server.dir);
    await owner.set('openai-api-key', 'sk-server-update-1');
    await owner.set('anthropic-api-key', 'sk-server-update-2');
    const { token } = await owner.createAgent('bot', { allow: ['openai-*', 'anthropic-*'], ttl: '1h' });
    const agent = await openVault({ server: server.url, token, now: () => clock });
    expect(await agent.get('anthropic-api-key')).toBe('sk-server-update-2');
    const removed = await nameIdFor(server.url, token, 'anthropic-api-key');

    await owner.updateAgent('bot', { allow: ['openai-*'] });
    await expect(agent.get('anthropic-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await agent.get('openai-api-key')).toBe('sk-server-update-1');
    const raw = await call(server.url, '/v1/read', { keys: [`s/${removed}`] }, agentHeader(token));
    expect(raw.status).toBe(403);
    expect(raw.body.error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'not-granted' });

    await owner.updateAgent('bot', { allow: ['*'], ttl: '3h' });
    expect(await agent.get('anthropic-api-key')).toBe('sk-server-update-2');
    clock += 2 * 3_600_000;
    expect(await agent.get('openai-api-key')).toBe('sk-server-update-1');
    clock += 2 * 3_600_000;
    await expect(agent.get('openai-api-key')).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    const actions = [];
    for await (const record of owner.readAudit()) actions.push(record.action);
    expect(actions.filter((action) => action === 'agent.update')).toHaveLength(2);
  });
});
