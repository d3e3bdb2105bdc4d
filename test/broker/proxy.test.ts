/**
 * The broker's request path against a loopback provider: the real key reaches the provider and
 * only it, in the route's header; phantom keys are accepted in each SDK's header and stripped;
 * streams are not buffered; echoes are redacted; every request is audited without a value.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect } from 'node:net';
import { brokerFixture, brokerRecords, type BrokerFixture } from './_fixtures.ts';

let f: BrokerFixture;
let openaiKey: string;
let anthropicKey: string;
let geminiKey: string;

beforeAll(async () => {
  f = await brokerFixture();
  openaiKey = f.keys.mint('sess-openai', 'openai', 3_600_000).key;
  anthropicKey = f.keys.mint('sess-anthropic', 'anthropic', 3_600_000).key;
  geminiKey = f.keys.mint('sess-gemini', 'gemini', 3_600_000).key;
});
afterAll(() => f.close());

const chat = (key: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${f.broker.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });

describe('broker: the key goes in at the broker, for the route, in its header', () => {
  it('OpenAI: Authorization Bearer phantom in, Bearer real key out; the phantom never reaches the provider', async () => {
    const before = f.provider.received.length;
    const response = await chat(openaiKey, {}, { 'x-api-key': 'sent-by-mistake', 'x-custom': 'kept' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).choices[0].message.content).toBe('Hello from the provider');
    const got = f.provider.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.url).toBe('/v1/chat/completions');
    expect(got[0]!.headers.authorization).toBe(`Bearer ${f.secrets['openai-api-key']}`);
    expect(got[0]!.headers['x-api-key']).toBeUndefined();
    expect(got[0]!.headers['x-custom']).toBe('kept');
    expect(JSON.stringify(got[0]!.headers)).not.toContain(openaiKey);
    expect(JSON.parse(got[0]!.body).messages[0].content).toBe('hi');
  });

  it('Anthropic: x-api-key phantom in, x-api-key real key out, no Authorization', async () => {
    const before = f.provider.received.length;
    const response = await fetch(`${f.broker.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': anthropicKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const got = f.provider.received[before]!;
    expect(got.headers['x-api-key']).toBe(f.secrets['anthropic-api-key']);
    expect(got.headers.authorization).toBeUndefined();
    expect(got.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('Gemini: x-goog-api-key phantom in, real key out; the query string is forwarded', async () => {
    const before = f.provider.received.length;
    const response = await fetch(`${f.broker.url}/gemini/v1beta/models/gemini-test:generateContent?alt=json`, {
      method: 'POST',
      headers: { 'x-goog-api-key': geminiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
    });
    expect(response.status).toBe(200);
    const got = f.provider.received[before]!;
    expect(got.url).toBe('/v1beta/models/gemini-test:generateContent?alt=json');
    expect(got.headers['x-goog-api-key']).toBe(f.secrets['gemini-api-key']);
  });

  it('streams SSE without buffering: the first event arrives while the provider still holds the rest', async () => {
    const response = await chat(openaiKey, { stream: true, gate: true });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // The provider sends nothing more until the gate opens: this event came through on its own.
    expect(first).toMatch(/^data: .*"Hello"/);
    f.provider.openGate();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain(' provider');
    expect(rest).toContain('data: [DONE]');
  });

  it('streams the request body up (a chunked body of 1 MiB arrives whole)', async () => {
    const before = f.provider.received.length;
    const big = 'x'.repeat(1024 * 1024);
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.close();
        sent = true;
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: big }] })));
      },
    });
    const response = await fetch(`${f.broker.url}/openai/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${openaiKey}`, 'content-type': 'application/json' }, body, duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(JSON.parse(f.provider.received[before]!.body).messages[0].content).toHaveLength(big.length);
  });

  it('a repeated header goes up joined; headers named like Object members (constructor, toString; __proto__ sent too) are plain headers', async () => {
    const before = f.provider.received.length;
    const body = '{"model":"m"}';
    const reply = await rawRequest([
      'POST /openai/v1/chat/completions HTTP/1.1', 'Host: x', `Authorization: Bearer ${openaiKey}`, 'Content-Type: application/json',
      'X-Multi: one', 'X-Multi: two', '__proto__: polluted', 'Constructor: kept', 'toString: also-kept', `Content-Length: ${body.length}`,
      'Connection: close', '', body,
    ].join('\r\n'));
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    const got = f.provider.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.headers['x-multi']).toBe('one, two');
    expect(got[0]!.headers['constructor']).toBe('kept');
    expect(got[0]!.headers['tostring']).toBe('also-kept');
    expect(got[0]!.headers.authorization).toBe(`Bearer ${f.secrets['openai-api-key']}`);
    expect(got[0]!.body).toBe(body);
  });

  it('a small body cut short by the client is never sent up (no key goes out for half a request); the broker keeps serving', async () => {
    const before = f.provider.received.length;
    await rawRequest([
      'POST /openai/v1/chat/completions HTTP/1.1', 'Host: x', `Authorization: Bearer ${openaiKey}`, 'Content-Length: 100', '', '{"model":',
    ].join('\r\n'), { closeAfterWrite: true });
    const response = await chat(openaiKey);
    expect(response.status).toBe(200);
    const got = f.provider.received.slice(before);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!.body).model).toBe('gpt-test');
    // The cut request ends as the client's (a 499 in the audit log), not as a request left hanging.
    await vi.waitFor(async () => {
      expect((await brokerRecords(f.owner)).some((r) => r.outcome === 'error' && r.reason === 'client-closed')).toBe(true);
    }, { timeout: 10_000 });
  });

  it('HEAD and bodiless answers pass through', async () => {
    const head = await fetch(`${f.broker.url}/openai/v1/models`, { method: 'HEAD', headers: { authorization: `Bearer ${openaiKey}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(f.provider.received.at(-1)).toMatchObject({ method: 'HEAD', url: '/v1/models' });
  });

  it('redacts an echo of the key in the body and headers of an error response', async () => {
    const response = await fetch(`${f.broker.url}/openai/echo`, { headers: { authorization: `Bearer ${openaiKey}` } });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).toContain('[redacted by agent-vault]');
    expect(text).not.toContain(f.secrets['openai-api-key']);
    expect(response.headers.get('www-authenticate')).not.toContain(f.secrets['openai-api-key']);
  });

  it('hands a redirect back instead of following it: the key never goes to the other origin', async () => {
    const other = await (await import('./_provider.ts')).startProvider();
    try {
      const response = await fetch(`${f.broker.url}/openai/redirect?to=${encodeURIComponent(`${other.origin}/v1/chat/completions`)}`, {
        headers: { authorization: `Bearer ${openaiKey}` }, redirect: 'manual',
      });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(`${other.origin}/v1/chat/completions`);
      expect(other.received).toHaveLength(0);
      // A client that follows it itself has nothing but its phantom key to send there (fetch drops even that).
      const followed = await fetch(`${f.broker.url}/openai/redirect?to=${encodeURIComponent(`${other.origin}/x`)}`, {
        headers: { authorization: `Bearer ${openaiKey}` },
      });
      expect(followed.status).toBe(200);
      expect(other.received).toHaveLength(1);
      expect(JSON.stringify(other.received)).not.toContain(f.secrets['openai-api-key']);
    } finally {
      await other.close();
    }
  });

  it('rewrites a redirect within the upstream to the broker route, so the client comes back through it', async () => {
    const response = await fetch(`${f.broker.url}/openai/redirect?to=${encodeURIComponent(`${f.provider.origin}/v1/models?x=1`)}`, {
      headers: { authorization: `Bearer ${openaiKey}` }, redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/openai/v1/models?x=1');
  });

  it('audits each request (agent, key name, route, method, path, status, duration) with no value in the log', async () => {
    const records = await brokerRecords(f.owner);
    const ok = records.find((record) => record.note?.includes('POST /openai/v1/chat/completions status=200'));
    expect(ok).toMatchObject({ actor: 'agent:broker-test', outcome: 'ok', name: 'openai-api-key' });
    expect(ok!.note).toMatch(/^key=sess-openai route=openai POST \/openai\/v1\/chat\/completions status=200 ms=\d+\.\d$/);
    const log = f.auditText();
    for (const value of [...Object.values(f.secrets), openaiKey, anthropicKey, geminiKey]) expect(log).not.toContain(value);
    expect(log).not.toContain('alt=json');
  });
});

/** Send `text` as is on a new connection; what came back once the broker closed it (or, with closeAfterWrite, once we did). */
function rawRequest(text: string, options: { closeAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(f.broker.url).port), '127.0.0.1', () => {
      socket.write(text, () => {
        if (options.closeAfterWrite) setImmediate(() => socket.destroy());
      });
    });
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk)).on('error', reject).on('close', () => resolve(reply));
  });
}
