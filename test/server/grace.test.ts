/**
 * A rotation's grace in server mode: the server itself lets the replaced token read until the
 * grace ends by the server's clock (whatever the agent's says), then refuses it, also to a raw
 * client that skips every local check; a revocation during the grace refuses both tokens.
 */
import { describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { agentHeader, call, ownerOn, STORES, storeServer } from './_server.ts';

const VALUE = 'sk-server-grace-canary-8e21';
const MINUTE = 60_000;

async function fleet(store: (typeof STORES)[number]) {
  const clock = { now: Date.now() };
  const server = await storeServer(store, { now: () => clock.now });
  const { owner } = await ownerOn(server.url, server.dir);
  await owner.set('openai-api-key', VALUE);
  const { token: old } = await owner.createAgent('bot', { allow: ['openai-*'], ttl: '1d' });
  const running = await openVault({ server: server.url, token: old });
  expect(await running.get('openai-api-key')).toBe(VALUE);
  /** A raw read of the state with a token's credentials: what the server itself allows. */
  const raw = async (token: string) => {
    const answer = await call(server.url, '/v1/read', { keys: ['state'] }, agentHeader(token));
    return answer.status === 200 ? 'allowed' : answer.body.error?.reason;
  };
  return { clock, server, owner, old, running, raw };
}

describe.each(STORES)('a grace in server mode (%s)', (store) => {
  it('the server serves the old token until the grace ends by its own clock, then refuses it', async () => {
    const { clock, server, owner, old, running, raw } = await fleet(store);
    const { token } = await owner.rotateAgent('bot', { grace: '15m' });
    expect(await running.get('openai-api-key')).toBe(VALUE);
    expect(await (await openVault({ server: server.url, token })).get('openai-api-key')).toBe(VALUE);
    expect(await raw(old)).toBe('allowed');

    // Two hours on by the server's clock (the owner's and the agents' clocks have not moved):
    // the 15-minute grace is over, the new token's day is not.
    clock.now += 120 * MINUTE;
    await expect(running.get('openai-api-key')).rejects.toMatchObject({ code: 'ACCESS_DENIED', reason: 'rotated' });
    expect(await raw(old)).toBe('rotated');
    expect(await raw(token)).toBe('allowed');
    expect(await (await openVault({ server: server.url, token })).get('openai-api-key')).toBe(VALUE);

    const rotations = [];
    for await (const record of owner.readAudit({ action: 'agent.rotate' })) rotations.push(record);
    expect(rotations[0]).toMatchObject({ outcome: 'ok', note: expect.stringMatching(/^grace: generation 1 until /) });
  });

  it('a revocation during the grace refuses both tokens at once', async () => {
    const { owner, old, running, raw } = await fleet(store);
    const { token } = await owner.rotateAgent('bot', { grace: '15m' });
    expect(await raw(token)).toBe('allowed');
    await owner.revokeAgent('bot');
    expect(await raw(old)).toBe('revoked');
    expect(await raw(token)).toBe('revoked');
    await expect(running.get('openai-api-key')).rejects.toMatchObject({ reason: 'revoked' });
  });

  it('a rotation without a grace ends one at once on the server', async () => {
    const { owner, old, raw } = await fleet(store);
    const { token: second } = await owner.rotateAgent('bot', { grace: '15m' });
    const { token: third } = await owner.rotateAgent('bot');
    expect(await raw(old)).toBe('rotated');
    expect(await raw(second)).toBe('rotated');
    expect(await raw(third)).toBe('allowed');
  });
});
