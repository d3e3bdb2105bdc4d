/**
 * The hardened transport is a fetch: keep-alive, aborts and timeouts, streamed and compressed
 * responses, every request body kind, and HTTPS with verification on. (Redirects are the vault
 * fetch's: redirects.test.ts.)
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HardenedTransport } from '../../adapters/transport/_hardened.ts';
import { echo, fakeKey, selfSigned, servePerTest } from '../_fixtures/index.ts';
import { keySource } from './_key.ts';

const serve = servePerTest(echo);
let transport: HardenedTransport;

beforeAll(() => {
  transport = new HardenedTransport();
});
afterAll(() => transport.close());

const json = async (response: Response) => (await response.json()) as { method: string; url: string; headers: Record<string, string>; body: string };

describe('connections', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const server = await serve(echo);
    for (let i = 0; i < 5; i++) await (await transport.fetch(`${server.origin}/${i}`)).text();
    expect(server.connections).toBe(1);
    expect(server.requests.map((r) => r.url)).toEqual(['/0', '/1', '/2', '/3', '/4']);
  });

  it('rejects like fetch when nothing listens: TypeError "fetch failed" with the cause', async () => {
    const server = await serve(echo);
    const origin = server.origin;
    await server.close();
    const error = await transport.fetch(origin).catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('ECONNREFUSED');
  });

  it('sets url, status, statusText and every response header (repeated ones too)', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(201, 'Made', [['x-one', '1'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
      res.end('done');
    });
    const response = await transport.fetch(`${server.origin}/path?q=1`);
    expect(response.url).toBe(`${server.origin}/path?q=1`);
    expect([response.status, response.statusText, response.headers.get('x-one')]).toEqual([201, 'Made', '1']);
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.text()).toBe('done');
  });

  it('gives HEAD and 204 responses a null body', async () => {
    const server = await serve((request, res) => {
      res.writeHead(request.method === 'HEAD' ? 200 : 204, { 'content-length': '0' });
      res.end();
    });
    expect((await transport.fetch(server.origin, { method: 'HEAD' })).body).toBeNull();
    expect((await transport.fetch(server.origin, { method: 'DELETE' })).body).toBeNull();
  });
});

describe('aborts and timeouts', () => {
  it('an already aborted signal rejects at once; nothing is sent and no key is decrypted', async () => {
    const server = await serve(echo);
    const source = keySource(fakeKey());
    const armed = transport.arm(server.origin, 'k', source);
    const error = await transport.fetch(server.origin, {
      headers: { authorization: `Bearer ${armed.placeholder}` }, signal: AbortSignal.abort(),
    }).catch((e) => e);
    armed.disarm();
    expect(error.name).toBe('AbortError');
    expect(server.requests).toHaveLength(0);
    expect(source.calls).toBe(0);
  });

  it('aborting while waiting for the response rejects with AbortError', async () => {
    const server = await serve(() => undefined);
    const controller = new AbortController();
    const pending = transport.fetch(server.origin, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('aborting while the body streams errors the body', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first');
    });
    const controller = new AbortController();
    const response = await transport.fetch(server.origin, { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a connection cut before the body is complete errors the body: a truncated answer never reads as whole', async () => {
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket!.destroy(), 20);
    });
    const response = await transport.fetch(server.origin);
    await expect(response.text()).rejects.toBeInstanceOf(Error);
  });

  it('a large body read slowly arrives whole and in order', async () => {
    const size = 8 * 1024 * 1024;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) body.writeUInt32LE(i, i);
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body);
    });
    const response = await transport.fetch(server.origin);
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value.slice());
      // A slow reader: the transport must hold back, not drop or reorder.
      if (chunks.length % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('a timeout signal rejects with TimeoutError', async () => {
    const server = await serve(() => undefined);
    await expect(transport.fetch(server.origin, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('closes idle keep-alive connections after keepAliveTimeout, and a long silent stream survives it', async () => {
    const short = new HardenedTransport({ keepAliveTimeout: 100 });
    const server = await serve((request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (request.url === '/slow') setTimeout(() => res.end('data: late\n\n'), 300);
      else res.end('data: now\n\n');
    });
    expect(await (await short.fetch(`${server.origin}/slow`)).text()).toBe('data: late\n\n');
    await new Promise((resolve) => setTimeout(resolve, 250));
    await (await short.fetch(server.origin)).text();
    expect(server.connections).toBe(2);
    short.close();
  });
});

describe('responses', () => {
  it('streams server-sent events as they arrive', async () => {
    let next: () => void = () => undefined;
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      next = () => res.end('data: two\n\n');
    });
    const response = await transport.fetch(server.origin);
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\n');
    next();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: two\n\n');
    expect((await reader.read()).done).toBe(true);
  });

  it('streams gzip-compressed events as they arrive', async () => {
    let next: () => void = () => undefined;
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      const gzip = zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH });
      gzip.pipe(res);
      gzip.write('data: one\n\n');
      next = () => gzip.end('data: two\n\n');
    });
    const response = await transport.fetch(server.origin);
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\n');
    next();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe('data: two\n\n');
  });

  it.each([
    ['gzip', promisify(zlib.gzip)],
    ['deflate', promisify(zlib.deflate)],
    ['br', promisify(zlib.brotliCompress)],
  ] as const)('decodes %s bodies (and asks for them)', async (coding, compress) => {
    const body = await compress(Buffer.from('{"ok":true}'));
    const server = await serve((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': coding });
      res.end(body);
    });
    const response = await transport.fetch(server.origin);
    expect(await response.json()).toEqual({ ok: true });
    expect(server.requests[0]!.headers['accept-encoding']).toMatch(coding);
  });
});

describe('request bodies', () => {
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append('file', new Blob(['{"prompt":"x"}\n'], { type: 'application/jsonl' }), 'data.jsonl');
  async function* generate() {
    yield new TextEncoder().encode('from ');
    yield new TextEncoder().encode('a generator');
  }

  it.each([
    ['a string', () => '{"a":1}', '{"a":1}', 'text/plain;charset=UTF-8'],
    ['a Uint8Array', () => new TextEncoder().encode('bytes'), 'bytes', undefined],
    ['an ArrayBuffer', () => new TextEncoder().encode('buffer').buffer, 'buffer', undefined],
    ['a Blob', () => new Blob(['blob'], { type: 'text/x-blob' }), 'blob', 'text/x-blob'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two' }), 'a=1&b=two', 'application/x-www-form-urlencoded;charset=UTF-8'],
  ])('%s, with its length', async (_name, make, expected, type) => {
    const server = await serve(echo);
    const received = await json(await transport.fetch(server.origin, { method: 'POST', body: make() }));
    expect(received.body).toBe(expected);
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(expected)));
    if (type) expect(received.headers['content-type']).toBe(type);
  });

  it('FormData with a file, as multipart', async () => {
    const server = await serve(echo);
    const received = await json(await transport.fetch(server.origin, { method: 'POST', body: form }));
    expect(received.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(received.body).toContain('name="file"; filename="data.jsonl"');
    expect(received.body).toContain('{"prompt":"x"}');
    expect(received.body).toContain('fine-tune');
  });

  it.each([
    ['a ReadableStream', () => new Blob(['streamed body']).stream(), 'streamed body'],
    ['an async iterable', () => generate(), 'from a generator'],
  ])('%s, sent chunked', async (_name, make, expected) => {
    const server = await serve(echo);
    const received = await json(await transport.fetch(server.origin, {
      method: 'POST', body: make() as RequestInit['body'], duplex: 'half',
    } as RequestInit));
    expect(received.body).toBe(expected);
    expect(received.headers['transfer-encoding']).toBe('chunked');
  });

  it('a Request object as input, and an empty POST with content-length 0', async () => {
    const server = await serve(echo);
    const request = new Request(`${server.origin}/r`, { method: 'PUT', body: 'from a Request', headers: { 'x-a': 'b' } });
    const received = await json(await transport.fetch(request));
    expect([received.method, received.url, received.body, received.headers['x-a']]).toEqual(['PUT', '/r', 'from a Request', 'b']);
    const empty = await json(await transport.fetch(server.origin, { method: 'POST' }));
    expect(empty.headers['content-length']).toBe('0');
  });
});

const tls = selfSigned();

// Skipped (and reported as skipped) only where openssl cannot make a test certificate.
describe.skipIf(!tls)('HTTPS', () => {
  it('with the self-signed CA passed explicitly: the key arrives over TLS', async () => {
    const server = await serve(echo, { tls: tls! });
    const trusting = new HardenedTransport({ ca: tls!.cert });
    const key = fakeKey();
    for (let i = 0; i < 3; i++) {
      const armed = trusting.arm(server.origin, 'k', keySource(key));
      const received = await json(await trusting.fetch(server.origin, {
        method: 'POST', body: `body ${i}`, headers: { authorization: `Bearer ${armed.placeholder}` },
      }));
      armed.disarm();
      expect([received.headers.authorization, received.body]).toEqual([`Bearer ${key}`, `body ${i}`]);
    }
    expect(server.connections).toBe(1);
    trusting.close();
  });

  it('verification stays on: an untrusted certificate fails, and no key is decrypted', async () => {
    const server = await serve(echo, { tls: tls! });
    const source = keySource(fakeKey());
    const armed = transport.arm(server.origin, 'k', source);
    const error = await transport.fetch(server.origin, { headers: { authorization: `Bearer ${armed.placeholder}` } }).catch((e) => e);
    armed.disarm();
    expect(error).toBeInstanceOf(TypeError);
    expect(error.cause.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(source.calls).toBe(0);
    expect(server.requests).toHaveLength(0);
  });
});
