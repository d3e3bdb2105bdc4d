/**
 * The broker's request path attacked as a local agent would, with raw sockets (no HTTP library
 * to normalise the bytes) and a hostile upstream. For each attack: the broker stays up, the key
 * goes nowhere but the route's upstream, and a refusal is the provider's error shape with a
 * status no SDK retries.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhantomKeys, resolveRoutes } from '../../src/broker/index.ts';
import { brokerFixture, type BrokerFixture } from './_fixtures.ts';
import { type Hostile, hostileUpstream, raw, statuses } from './_hostile.ts';

let f: BrokerFixture;
let up: Hostile;
let key: string;
let anthropicKey: string;
let real: string;

beforeAll(async () => {
  up = await hostileUpstream();
  const routes = resolveRoutes({ upstreams: [`openai=${up.origin}/base`, `anthropic=${up.origin}/other`, `gemini=${up.origin}/gem`] });
  f = await brokerFixture({ broker: { routes, limits: { headersTimeoutMs: 300, requestTimeoutMs: 2_000, upstreamTimeoutMs: 1_000 } } });
  key = f.keys.mint('attack-openai', 'openai', 3_600_000).key;
  anthropicKey = f.keys.mint('attack-anthropic', 'anthropic', 3_600_000).key;
  real = f.secrets['openai-api-key']!;
});
afterAll(async () => {
  await f.close();
  await up.close();
});

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
const auth = () => `Authorization: Bearer ${key}`;

/** The broker still answers a plain request (it did not crash or wedge). */
async function stillUp(): Promise<void> {
  const response = await fetch(`${f.broker.url}/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
}

/** Nothing reached the upstream since `before`. */
const nothingSentSince = (before: number) => expect(up.received.slice(before)).toEqual([]);

describe('request smuggling and framing', () => {
  it('Content-Length and Transfer-Encoding together: 400, nothing forwarded, no second request smuggled', async () => {
    const before = up.received.length;
    const smuggled = head(['GET /openai/v1/smuggled HTTP/1.1', 'Host: x', auth()]);
    const text = await raw(f.broker.url, head(['POST /openai/v1/chat HTTP/1.1', 'Host: x', auth(), `Content-Length: ${5 + smuggled.length}`, 'Transfer-Encoding: chunked']) + `0\r\n\r\n${smuggled}`);
    expect(statuses(text)).toEqual([400]);
    nothingSentSince(before);
    await stillUp();
  });

  it('two different Content-Lengths, and an obs-folded header: 400, nothing forwarded', async () => {
    const before = up.received.length;
    expect(statuses(await raw(f.broker.url, head(['POST /openai/v1/chat HTTP/1.1', 'Host: x', auth(), 'Content-Length: 2', 'Content-Length: 30']) + 'hi'))).toEqual([400]);
    expect(statuses(await raw(f.broker.url, head(['GET /openai/v1/models HTTP/1.1', 'Host: x', auth(), 'X-Folded: a', ' b'])))).toEqual([400]);
    expect(statuses(await raw(f.broker.url, head(['POST /openai/v1/chat HTTP/1.1', 'Host: x', auth(), 'Transfer-Encoding: chunked, identity']) + '0\r\n\r\n'))).toEqual([400]);
    nothingSentSince(before);
  });

  it('a malformed request is answered in JSON, in the OpenAI error shape, not retried', async () => {
    const text = await raw(f.broker.url, head(['GET /openai/v1/models HTTP/1.1', 'Host: x', 'Content-Length: 1', 'Content-Length: 2']));
    expect(text).toMatch(/x-should-retry: false/i);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('pipelined requests: each is answered in order; a bad key in the second is refused and not forwarded', async () => {
    const before = up.received.length;
    const text = await raw(f.broker.url,
      head(['GET /openai/v1/first HTTP/1.1', 'Host: x', auth()]) +
      head(['GET /openai/v1/second HTTP/1.1', 'Host: x', `Authorization: Bearer avp_${'A'.repeat(43)}`]) +
      head(['GET /openai/v1/third HTTP/1.1', 'Host: x', auth(), 'Connection: close']));
    expect(statuses(text), text.replace(/date: .*\r\n/g, '')).toEqual([200, 401, 200]);
    // The answers come in order (each names its path); the two forwarded run concurrently, so
    // the order they reach the upstream in is not the broker's to promise.
    expect(text.indexOf('"/base/v1/first"')).toBeGreaterThan(-1);
    expect(text.indexOf('"/base/v1/first"')).toBeLessThan(text.indexOf('"/base/v1/third"'));
    expect(up.received.slice(before).map((r) => r.url).sort()).toEqual(['/base/v1/first', '/base/v1/third']);
  });

  it('Expect: 100-continue with a bad key: refused before the body is sent', async () => {
    const before = up.received.length;
    const text = await raw(f.broker.url, head(['POST /openai/v1/chat HTTP/1.1', 'Host: x', 'Authorization: Bearer avp_nope', 'Content-Length: 10', 'Expect: 100-continue', 'Connection: close']), 800);
    expect(statuses(text).at(-1)).toBe(401);
    nothingSentSince(before);
  });

  it('Connection: upgrade / WebSocket: no tunnel is opened, the upgrade headers are not forwarded', async () => {
    const before = up.received.length;
    const text = await raw(f.broker.url, head(['GET /openai/v1/realtime HTTP/1.1', 'Host: x', auth(), 'Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']), 800);
    expect(statuses(text)).not.toContain(101);
    for (const request of up.received.slice(before)) expect(request.url).toBe('/base/v1/realtime');
    await stillUp();
  });
});

describe('where the request goes: always the route’s upstream', () => {
  it('absolute-form request target: refused (unknown route), nothing sent anywhere', async () => {
    const before = up.received.length;
    const text = await raw(f.broker.url, head([`GET ${up.origin}/base/v1/models HTTP/1.1`, 'Host: evil.example', auth(), 'Connection: close']));
    expect(statuses(text)).toEqual([404]);
    nothingSentSince(before);
  });

  it('an odd Host header does not change the upstream, and is not forwarded', async () => {
    const before = up.received.length;
    const text = await raw(f.broker.url, head(['GET /openai/v1/models HTTP/1.1', 'Host: evil.example:443', auth(), 'Connection: close']));
    expect(statuses(text)).toEqual([200]);
    expect(up.received.slice(before)).toMatchObject([{ url: '/base/v1/models', host: new URL(up.origin).host, authorization: `Bearer ${real}` }]);
  });

  it.each([
    ['dot segments', '/openai/../anthropic/v1/messages'],
    ['dot segments past the base path', '/openai/../../other/v1/messages'],
    ['encoded dot segments', '/openai/%2e%2e/%2E%2E/other/v1/messages'],
    ['backslashes', '/openai/..\\..\\other/v1/messages'],
    ['mixed', '/openai/v1/.%2e/.%2E/../other/v1/messages'],
  ])('%s cannot leave the route’s base path (%s): refused, nothing sent', async (_name, path) => {
    const before = up.received.length;
    const text = await raw(f.broker.url, head([`GET ${path} HTTP/1.1`, 'Host: x', auth(), 'Connection: close']));
    const sent = up.received.slice(before);
    if (sent.length > 0) expect(sent.every((r) => r.url.startsWith('/base/'))).toBe(true);
    else expect(statuses(text)).toEqual([400]);
  });

  it('double slashes and encoded slashes stay in the path at the route’s origin', async () => {
    const before = up.received.length;
    for (const path of ['/openai//evil.example/x', '/openai/v1%2F..%2F..%2Fother', '/openai%2F..%2Fanthropic/v1/messages']) {
      await raw(f.broker.url, head([`GET ${path} HTTP/1.1`, 'Host: x', auth(), 'Connection: close']));
    }
    expect(up.received.slice(before).map((r) => r.url)).toEqual(['/base//evil.example/x', '/base/v1%2F..%2F..%2Fother']);
  });

  it('a redirect to another origin is handed back, never followed by the broker', async () => {
    const before = up.received.length;
    const response = await fetch(`${f.broker.url}/openai/redirect-away`, { headers: { authorization: `Bearer ${key}` }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(up.received.slice(before)).toHaveLength(1);
  });
});

describe('echoes of the key from the upstream', () => {
  const get = (path: string) => fetch(`${f.broker.url}/openai${path}`, { headers: { authorization: `Bearer ${key}` } });
  const decoded = async (response: Response) => {
    const body = await response.text();
    let parsed = body;
    try {
      parsed = JSON.stringify(JSON.parse(body), (_k, v) => v); // what a client's JSON parser turns \u escapes into
    } catch { /* not JSON */ }
    return `${response.status} ${response.statusText} ${JSON.stringify([...response.headers])} ${body} ${parsed}`;
  };

  it.each(['/echo-header', '/echo-status', '/echo-unicode', '/echo-split', '/echo-gzip', '/echo-sse-error', '/echo-sse-split', '/echo-header-200'])('%s: the client never gets the key', async (path) => {
    const seen = await decoded(await get(path));
    expect(seen.includes(real), seen.slice(0, 300)).toBe(false);
    expect(seen.includes(encodeURIComponent(real)), seen.slice(0, 300)).toBe(false);
  });

  it('a 2xx whose head echoes the key (status text, a value, a header named with it, a redirect): redacted, the body passed on', async () => {
    // Raw bytes, as the client's socket gets them: no HTTP library drops or folds anything first.
    const text = await raw(f.broker.url, head(['GET /openai/echo-header-200 HTTP/1.1', 'Host: x', auth(), 'Connection: close']));
    expect(text.includes(real)).toBe(false);
    expect(text.toLowerCase().includes(real.toLowerCase())).toBe(false);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK \[redacted by agent-vault\]\r\n/);
    expect(text).toContain('x-echo: [redacted by agent-vault]');
    expect(text).toContain('location: /openai/next?k=');
    expect(text).toContain('{"ok":true}');
  });
});

describe('the usual answer, passed on as received', () => {
  it('a gzip 2xx goes through as the provider encoded it: the client decodes it', async () => {
    const response = await fetch(`${f.broker.url}/openai/gzip-200`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(await response.json()).toEqual({ zipped: true });
  });

  it('a 2xx cut short by the provider: the client sees a broken body (not a complete short one), the log says so', async () => {
    const response = await fetch(`${f.broker.url}/openai/cut-200`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    await expect.poll(() => f.auditText().split('\n').some((line) => line.includes('cut-200') && line.includes('stream-broken'))).toBe(true);
    await stillUp();
  });
});

describe('the client goes away, the upstream hangs, the client dawdles', () => {
  it('a client that disconnects mid-stream: the upstream request is aborted', async () => {
    const before = up.received.length;
    const controller = new AbortController();
    const response = await fetch(`${f.broker.url}/openai/stream-then-hang`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('first');
    controller.abort();
    await expect.poll(() => up.received[before]?.closedEarly, { timeout: 5_000 }).toBe(true);
    await stillUp();
  });

  it('an upstream that never answers: a 502 in the provider’s shape after the upstream timeout', async () => {
    const response = await fetch(`${f.broker.url}/openai/hang`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { code: 'upstream-timeout' } });
  });

  it('slowloris: a head sent byte by byte is cut at the headers timeout; the broker keeps serving', async () => {
    const socket = net.connect(Number(new URL(f.broker.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET /openai/v1/models HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => socket.writable && socket.write('X-Slow: a\r\n'), 100);
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(timer);
    await stillUp();
  });

  it('thousands of headers, and a head over the limit: answered (431 for the oversize), the broker stays up', async () => {
    const many = Array.from({ length: 3_000 }, (_, i) => `x-h${i}: v`);
    const text = await raw(f.broker.url, head(['GET /openai/v1/models HTTP/1.1', 'Host: x', auth(), ...many, 'Connection: close']));
    expect(statuses(text)).toHaveLength(1);
    const huge = await raw(f.broker.url, head(['GET /openai/v1/models HTTP/1.1', 'Host: x', auth(), `x-big: ${'a'.repeat(40_000)}`]));
    expect(statuses(huge)).toEqual([431]);
    await stillUp();
  });
});

describe('phantom keys', () => {
  const call = (route: string, headers: Record<string, string>, query = '') => fetch(`${f.broker.url}/${route}/v1/models${query}`, { headers });

  it('of another broker session, of another route, expired, revoked: refused and nothing sent', async () => {
    const before = up.received.length;
    const other = new PhantomKeys().mint('elsewhere', 'openai', 60_000).key;
    expect((await call('openai', { authorization: `Bearer ${other}` })).status).toBe(401);
    expect((await call('openai', { authorization: `Bearer ${anthropicKey}` })).status).toBe(403);
    const revoked = f.keys.mint('to-revoke', 'openai', 60_000).key;
    f.keys.revoke('to-revoke');
    expect((await call('openai', { authorization: `Bearer ${revoked}` })).status).toBe(401);
    const expired = f.keys.mint('short', 'openai', 1).key;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const refusal = await call('openai', { authorization: `Bearer ${expired}` });
    expect(refusal.status).toBe(401);
    expect(refusal.headers.get('x-should-retry')).toBe('false');
    nothingSentSince(before);
  });

  it.each([
    ['authorization', (k: string) => `Bearer ${k}`], ['x-api-key', (k: string) => k], ['api-key', (k: string) => k], ['x-goog-api-key', (k: string) => k],
  ])('accepted in %s; the upstream gets only the real key, in the route’s header', async (name, value) => {
    const before = up.received.length;
    expect((await call('openai', { [name]: value(key) })).status).toBe(200);
    expect(up.received.slice(before)).toMatchObject([{ authorization: `Bearer ${real}` }]);
  });

  it('in the query (?key=, as Google clients send it): accepted, and stripped before forwarding', async () => {
    const before = up.received.length;
    expect((await call('openai', {}, `?key=${key}&alt=sse`)).status).toBe(200);
    expect((await call('openai', { authorization: `Bearer ${key}` }, `?key=${key}`)).status).toBe(200);
    const sent = up.received.slice(before);
    expect(sent.map((r) => r.url)).toEqual(['/base/v1/models?alt=sse', '/base/v1/models']);
    for (const request of sent) expect(request.authorization).toBe(`Bearer ${real}`);
  });
});
