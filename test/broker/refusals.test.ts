/**
 * Attacks on the broker: wrong, missing, expired, revoked and other-route phantom keys, a vault
 * that refuses, oversized and malformed requests. Each is refused in the provider's error shape
 * with a status its SDK does not retry, audited, and nothing reaches the provider.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerFixture, brokerRecords, type BrokerFixture } from './_fixtures.ts';

let f: BrokerFixture;
let clock = Date.now();
let openaiKey: string;

beforeAll(async () => {
  f = await brokerFixture({ allow: ['openai-*', 'anthropic-*'], now: () => clock, broker: { limits: { maxBodyBytes: 64 * 1024, maxHeaderBytes: 8 * 1024 } } });
  openaiKey = f.keys.mint('sess-openai', 'openai', 3_600_000).key;
});
afterAll(() => f.close());

async function attempt(path: string, headers: Record<string, string>, body?: string) {
  const before = f.provider.received.length;
  const response = await fetch(`${f.broker.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json', ...headers }, body,
  });
  return {
    status: response.status, retry: response.headers.get('x-should-retry'), json: await response.json() as Record<string, any>,
    upstream: f.provider.received.length - before,
  };
}

describe('broker refusals: nothing is sent upstream, the SDK does not retry, the log says why', () => {
  it('a random phantom-shaped key → 401 in the OpenAI shape', async () => {
    const forged = `avp_${'A'.repeat(43)}`;
    const result = await attempt('/openai/v1/models', { authorization: `Bearer ${forged}` });
    expect(result).toMatchObject({ status: 401, retry: 'false', upstream: 0 });
    expect(result.json.error).toMatchObject({ type: 'invalid_request_error', code: 'bad-phantom-key' });
  });

  it('a real provider key given to the broker (not a phantom) → 401, and it is not forwarded', async () => {
    const result = await attempt('/openai/v1/models', { authorization: `Bearer ${f.secrets['openai-api-key']}` });
    expect(result).toMatchObject({ status: 401, upstream: 0 });
  });

  it('no key → 401 in the Anthropic shape on the anthropic route', async () => {
    const result = await attempt('/anthropic/v1/messages', {}, '{}');
    expect(result).toMatchObject({ status: 401, upstream: 0 });
    expect(result.json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it("another route's phantom key → 403 permission error", async () => {
    const result = await attempt('/anthropic/v1/messages', { 'x-api-key': openaiKey }, '{}');
    expect(result).toMatchObject({ status: 403, upstream: 0 });
    expect(result.json.error).toMatchObject({ type: 'permission_error' });
  });

  it('an expired phantom key → 401, and it stays dead', async () => {
    const { key } = f.keys.mint('short-lived', 'openai', 60_000);
    expect((await attempt('/openai/v1/models', { authorization: `Bearer ${key}` })).status).toBe(200);
    clock += 60_000;
    const result = await attempt('/openai/v1/models', { authorization: `Bearer ${key}` });
    expect(result).toMatchObject({ status: 401, upstream: 0 });
    expect(result.json.error.code).toBe('expired-phantom-key');
    clock -= 60_000;
    expect((await attempt('/openai/v1/models', { authorization: `Bearer ${key}` })).json.error.code).toBe('bad-phantom-key');
  });

  it('a revoked phantom key → 401', async () => {
    const { key } = f.keys.mint('to-revoke', 'openai', 60_000);
    expect(f.keys.revoke('to-revoke')).toBe(true);
    expect(await attempt('/openai/v1/models', { authorization: `Bearer ${key}` })).toMatchObject({ status: 401, upstream: 0 });
  });

  it('a route whose secret the agent was not granted → 403 in the Google shape, from the vault', async () => {
    const { key } = f.keys.mint('gem', 'gemini', 60_000);
    const result = await attempt('/gemini/v1beta/models/m:generateContent', { 'x-goog-api-key': key }, '{}');
    expect(result).toMatchObject({ status: 403, upstream: 0 });
    expect(result.json.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    expect(result.json.error.message).toContain('not granted');
  });

  it('an unknown route → 404 naming the routes', async () => {
    const result = await attempt('/nope/v1/models', { authorization: `Bearer ${openaiKey}` });
    expect(result).toMatchObject({ status: 404, upstream: 0 });
    expect(result.json.error.message).toContain('/openai/');
  });

  it('a body over the limit → 413, whether declared or streamed', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    expect(await attempt('/openai/v1/chat/completions', { authorization: `Bearer ${openaiKey}` }, big)).toMatchObject({ status: 413, upstream: 0 });
    const chunks = [new TextEncoder().encode(big)];
    const response = await fetch(`${f.broker.url}/openai/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${openaiKey}` }, duplex: 'half',
      body: new ReadableStream({ pull: (c) => (chunks.length ? c.enqueue(chunks.pop()!) : c.close()) }),
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('a head over the limit → 431; garbage on the socket → 400; the broker keeps serving', async () => {
    const response = await fetch(`${f.broker.url}/openai/v1/models`, { headers: { authorization: `Bearer ${openaiKey}`, 'x-pad': 'p'.repeat(9000) } });
    expect(response.status).toBe(431);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(f.broker.url).port), '127.0.0.1', () => socket.write('\x00\x01 NOT HTTP\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk)).on('close', () => resolve(text)).on('error', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const absolute = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(f.broker.url).port), '127.0.0.1', () =>
        socket.write(`GET http://evil.example/x HTTP/1.1\r\nhost: evil.example\r\nauthorization: Bearer ${openaiKey}\r\nconnection: close\r\n\r\n`));
      let text = '';
      socket.on('data', (chunk) => (text += chunk)).on('close', () => resolve(text));
    });
    expect(absolute).toMatch(/^HTTP\/1\.1 404/);
    expect((await attempt('/openai/v1/models', { authorization: `Bearer ${openaiKey}` })).status).toBe(200);
  });

  it('every refusal above is in the audit log, denied, with its reason', async () => {
    const reasons = (await brokerRecords(f.owner)).filter((r) => r.outcome === 'denied').map((r) => r.reason);
    expect(reasons).toEqual(expect.arrayContaining([
      'bad-phantom-key', 'no-phantom-key', 'wrong-route', 'expired-phantom-key', 'vault-access_denied', 'unknown-route', 'body-too-large',
    ]));
    expect(f.auditText()).not.toContain(openaiKey);
  });
});
