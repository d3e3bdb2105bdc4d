/**
 * Key injection at the socket: the key goes over the one-time placeholder in the request head,
 * only for the armed origin, only in the head, and the buffer that held it is zeroed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HardenedTransport } from '../../adapters/transport/_hardened.ts';
import { UsageError } from '../../src/errors.ts';
import { echo, fakeKey, startServer, type TestServer } from '../_fixtures/index.ts';
import { keySource } from './_key.ts';

let server: TestServer;
let other: TestServer;
let transport: HardenedTransport;

beforeAll(async () => {
  server = await startServer(echo);
  other = await startServer(echo);
});
afterAll(async () => {
  await server.close();
  await other.close();
});
afterEach(() => transport?.close());

function fresh(): HardenedTransport {
  transport = new HardenedTransport();
  return transport;
}

describe('key injection', () => {
  it('writes the key over the placeholder in Authorization, and zeroes the buffer after the write', async () => {
    const key = fakeKey();
    const source = keySource(key);
    const t = fresh();
    const armed = t.arm(server.origin, 'openai-api-key', source);
    expect(armed.placeholder).toHaveLength(key.length);
    expect(armed.placeholder).not.toContain(key.slice(0, 8));
    const response = await t.fetch(`${server.origin}/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${armed.placeholder}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    armed.disarm();
    expect(response.status).toBe(200);
    const received = server.requests.at(-1)!;
    expect(received.headers.authorization).toBe(`Bearer ${key}`);
    expect(received.body.toString()).toBe('{"hello":"world"}');
    expect(source.calls).toBe(1);
    expect(source.targets[0]!.every((byte) => byte === 0)).toBe(true);
  });

  it('works in any header (x-api-key), in several at once, and with a stored trailing newline', async () => {
    const key = fakeKey();
    const t = fresh();
    const armed = t.arm(server.origin, 'anthropic-api-key', keySource(`${key}\n`));
    await t.fetch(`${server.origin}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': armed.placeholder, 'x-other': 'kept', authorization: `Bearer ${armed.placeholder}` },
      body: 'body after the head',
    });
    const received = server.requests.at(-1)!;
    expect(received.headers['x-api-key']).toBe(key);
    expect(received.headers.authorization).toBe(`Bearer ${key}`);
    expect(received.headers['x-other']).toBe('kept');
    expect(received.body.toString()).toBe('body after the head');
  });

  it('puts the key only in the head: a body holding the placeholder goes out unchanged', async () => {
    const key = fakeKey();
    const t = fresh();
    const armed = t.arm(server.origin, 'k', keySource(key));
    await t.fetch(server.origin, {
      method: 'POST', headers: { authorization: `Bearer ${armed.placeholder}` }, body: `echo ${armed.placeholder}`,
    });
    const received = server.requests.at(-1)!;
    expect(received.headers.authorization).toBe(`Bearer ${key}`);
    expect(received.body.toString()).toBe(`echo ${armed.placeholder}`);
  });

  it('never for another origin, and never once disarmed', async () => {
    const key = fakeKey();
    const source = keySource(key);
    const t = fresh();
    const armed = t.arm(server.origin, 'k', source);
    await t.fetch(other.origin, { headers: { authorization: `Bearer ${armed.placeholder}` } });
    expect(other.requests.at(-1)!.headers.authorization).toBe(`Bearer ${armed.placeholder}`);
    armed.disarm();
    await t.fetch(server.origin, { headers: { authorization: `Bearer ${armed.placeholder}` } });
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${armed.placeholder}`);
    expect(source.calls).toBe(0);
  });

  it('through send() (the vault fetch\'s path) too: only for the armed origin, only the placeholder named, only while armed', async () => {
    const key = fakeKey();
    const source = keySource(key);
    const t = fresh();
    const armed = t.arm(server.origin, 'k', source);
    const hop = (origin: string) => ({ url: new URL(origin), method: 'GET', headers: { authorization: `Bearer ${armed.placeholder}` }, body: undefined });
    // Named for another origin: it goes out as the placeholder.
    await t.send(hop(other.origin), armed.placeholder);
    expect(other.requests.at(-1)!.headers.authorization).toBe(`Bearer ${armed.placeholder}`);
    // Not named: nothing is searched for, the placeholder goes out.
    await t.send(hop(server.origin), undefined);
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${armed.placeholder}`);
    expect(source.calls).toBe(0);
    await t.send(hop(server.origin), armed.placeholder);
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${key}`);
    expect(source.calls).toBe(1);
    armed.disarm();
    await t.send(hop(server.origin), armed.placeholder);
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${armed.placeholder}`);
    expect(source.calls).toBe(1);
    for (const target of source.targets) expect(Buffer.from(target).every((byte) => byte === 0)).toBe(true);
  });

  it('refuses a key that is not a header value, quoting nothing of it, and sends nothing', async () => {
    const t = fresh();
    const before = server.requests.length;
    const armed = t.arm(server.origin, 'bad-key', keySource('sk-has a space-0123456789abcdef'));
    const error = await t.fetch(server.origin, { headers: { authorization: `Bearer ${armed.placeholder}` } }).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/not a valid HTTP header value/);
    expect(error.message).not.toContain("has a space");
    expect(server.requests.length).toBe(before);
  });

  it('refuses keys too short for a safe placeholder', () => {
    expect(() => fresh().arm(server.origin, 'short', keySource('sk-123'))).toThrow(UsageError);
  });

  it('injects on reused keep-alive connections, each request with its own placeholder', async () => {
    const t = fresh();
    const key = fakeKey();
    const own = await startServer(echo);
    for (let i = 0; i < 5; i++) {
      const armed = t.arm(own.origin, 'k', keySource(key));
      const response = await t.fetch(`${own.origin}/${i}`, {
        method: 'POST', headers: { authorization: `Bearer ${armed.placeholder}` }, body: new Uint8Array([i]),
      });
      await response.arrayBuffer();
      armed.disarm();
    }
    expect(own.requests.map((r) => r.headers.authorization)).toEqual(Array(5).fill(`Bearer ${key}`));
    expect(own.connections).toBe(1);
    await own.close();
  });

  it('keeps concurrent requests apart: each gets its own key', async () => {
    const t = fresh();
    const keys = Array.from({ length: 40 }, () => fakeKey());
    await Promise.all(keys.map(async (key, i) => {
      const armed = t.arm(server.origin, 'k', keySource(key));
      const response = await t.fetch(`${server.origin}/c/${i}`, { headers: { authorization: `Bearer ${armed.placeholder}` } });
      await response.text();
      armed.disarm();
    }));
    for (const [i, key] of keys.entries()) {
      expect(server.requests.find((r) => r.url === `/c/${i}`)!.headers.authorization).toBe(`Bearer ${key}`);
    }
  });
});
