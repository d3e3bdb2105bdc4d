/**
 * What the API's origin echoes of the key never reaches the caller: with either transport, the
 * key is redacted from the headers, status text and URL of every response to a request that
 * carried it, from the body of every non-2xx one and from event streams. Other success bodies stream
 * through untouched.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultFetch } from '../../adapters/fetch.ts';
import { type KeyLender, MAX_REDACTED_BODY, REDACTED, redactResponse } from '../../adapters/transport/_redact.ts';
import { openVault, type Vault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fakeKey, type Handler, startServer, type TestServer, testVault } from '../_fixtures/index.ts';

const key = fakeKey();
let vault: Vault;
let server: TestServer;
let handler: Handler;
/** How many times the hardened transport decrypted the key (at the socket, and for a search). */
let decryptions = 0;

beforeAll(async () => {
  const backend = memoryBackend();
  const owner = await testVault({ backend });
  await owner.set('api-key', key);
  // Stored with a trailing newline (as `echo key | agent-vault set` leaves it): the key sent is without it.
  await owner.set('padded-key', `${key}\n`);
  const { token } = await owner.createAgent('bot', { allow: ['*'], ttl: '1h' });
  vault = await openVault({ backend, token });
  const prepare = vault._prepare.bind(vault);
  Object.defineProperty(vault, '_prepare', {
    value: async (name: string) => {
      const prepared = await prepare(name);
      return {
        length: prepared.length,
        decryptInto: (target: Uint8Array) => (decryptions++, prepared.decryptInto(target)),
        dispose: () => prepared.dispose(),
      };
    },
  });
  server = await startServer((request, res, req) => handler(request, res, req));
});
afterAll(() => server.close());

/** The credential as the server got it. */
const credential = (request: { headers: Record<string, unknown> }) => String(request.headers.authorization).slice('Bearer '.length);

function call(transport: 'hardened' | 'standard', path = '/v1/x', init: RequestInit = {}, secret = 'api-key') {
  const vaultFetch = createVaultFetch(vault, { secret, origin: server.origin, header: 'authorization', transport });
  return vaultFetch(`${server.origin}${path}`, { method: 'POST', body: '{}', ...init });
}

for (const transport of ['hardened', 'standard'] as const) {
  describe(`the ${transport} transport`, () => {
    it('redacts every echo of the key in an error body, keeping its status, status text and headers', async () => {
      handler = (request, res) => {
        const sent = credential(request);
        res.writeHead(401, 'Unauthorized', { 'content-type': 'application/json', 'x-request-id': 'req_1' });
        res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${sent}.`, sent: [sent, `Bearer ${sent}`] } }));
      };
      const response = await call(transport);
      expect([response.status, response.statusText, response.ok]).toEqual([401, 'Unauthorized', false]);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.get('x-request-id')).toBe('req_1');
      expect(response.url).toBe(`${server.origin}/v1/x`);
      const body = await response.json() as { error: { message: string; sent: string[] } };
      expect(body.error).toEqual({ message: `Incorrect API key provided: ${REDACTED}.`, sent: [REDACTED, `Bearer ${REDACTED}`] });
      expect(credential(server.requests.at(-1)!)).toBe(key); // the key did go out
    });

    it('redacts it in header values (each set-cookie too) and the status text, on any status', async () => {
      handler = (request, res) => {
        const sent = credential(request);
        res.statusMessage = `Bad key ${sent}`;
        res.writeHead(200, {
          'content-type': 'text/plain',
          'www-authenticate': `Bearer error="invalid_token", token="${sent}"`,
          'set-cookie': [`a=${sent}; Path=/`, 'b=2'],
          'x-echo': sent,
        });
        res.end('fine');
      };
      const response = await call(transport);
      expect(response.statusText).toBe(`Bad key ${REDACTED}`);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer error="invalid_token", token="${REDACTED}"`);
      expect(response.headers.getSetCookie()).toEqual([`a=${REDACTED}; Path=/`, 'b=2']);
      expect(response.headers.get('x-echo')).toBe(REDACTED);
      expect(await response.text()).toBe('fine');
    });

    it('finds the key as it was sent when it is stored with surrounding whitespace', async () => {
      handler = (request, res) => {
        res.writeHead(403, { 'x-echo': credential(request) });
        res.end(credential(request));
      };
      const response = await call(transport, '/v1/x', {}, 'padded-key');
      expect(credential(server.requests.at(-1)!)).toBe(key);
      expect(response.headers.get('x-echo')).toBe(REDACTED);
      expect(await response.text()).toBe(REDACTED);
    });

    it('redacts a compressed error body (fetch decodes it), and one reached by a same-origin redirect', async () => {
      handler = (request, res) => {
        if (request.url === '/v1/old') {
          res.writeHead(307, { location: '/v1/new' });
          return void res.end();
        }
        res.writeHead(500, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        res.end(gzipSync(`upstream said: ${credential(request)}`));
      };
      const response = await call(transport, '/v1/old');
      expect(response.status).toBe(500);
      expect(response.url).toBe(`${server.origin}/v1/new`);
      expect(await response.text()).toBe(`upstream said: ${REDACTED}`);
    });

    it(`reads at most ${MAX_REDACTED_BODY} bytes of an error body, dropping a key cut at the limit`, async () => {
      const filler = MAX_REDACTED_BODY - 10; // the key starts 10 bytes before the limit
      handler = (request, res) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.write(`${credential(request)}\n`);
        res.write(Buffer.alloc(filler - key.length - 1, 'x'));
        res.end(`${credential(request)} and much more`.repeat(1000));
      };
      const response = await call(transport);
      const text = await response.text();
      expect(text.startsWith(`${REDACTED}\nxxx`)).toBe(true);
      expect(text.endsWith('x')).toBe(true); // the 10 bytes of the key before the limit are gone
      expect(text.length).toBe(REDACTED.length + filler - key.length);
      expect(text).not.toContain(key.slice(0, 10));
    });

    it('hands back what arrived of an error body cut off midway, redacted, then fails as the body did', async () => {
      handler = (request, res) => {
        res.writeHead(500, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write(`key: ${credential(request)}, again: ${credential(request).slice(0, 30)}`);
        setTimeout(() => res.socket?.destroy(), 20);
      };
      const response = await call(transport);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toBe(`key: ${REDACTED}, again: `);
      await expect(reader.read()).rejects.toBeInstanceOf(Error);
    });

    it('streams an event stream as it arrives, redacting an echo in a later event', async () => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      handler = (request, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-echo': credential(request) });
        res.write('data: first\n\n');
        void released.then(() => res.end(`event: error\ndata: ${credential(request)}\n\n`));
      };
      const response = await call(transport);
      expect(response.headers.get('x-echo')).toBe(REDACTED);
      const reader = response.body!.getReader();
      // The first event arrives while the server still holds the rest back.
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
      release();
      let rest = '';
      for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value);
      expect(rest).toBe(`event: error\ndata: ${REDACTED}\n\n`);
    });

    it('passes any other 2xx body through as the API sent it, unsearched', async () => {
      handler = (request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: credential(request) }));
      };
      const response = await call(transport);
      // A success body is the caller's own answer.
      expect(await response.json()).toEqual({ echo: key });
    });

    it('leaves the response of a request that carried no key alone', async () => {
      handler = (_request, res) => {
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end(`not ${key}`);
      };
      const vaultFetch = createVaultFetch(vault, { secret: 'api-key', origin: 'https://api.example.com', transport });
      const response = await vaultFetch(`${server.origin}/other`);
      expect(server.requests.at(-1)!.headers.authorization).toBeUndefined();
      expect(await response.text()).toBe(`not ${key}`);
    });
  });
}

describe('the cost on the success path', () => {
  it('the hardened transport decrypts the key only to send it, unless a response could hold it', async () => {
    handler = (_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_123' });
      res.end('{}');
    };
    let before = decryptions;
    await (await call('hardened')).text();
    expect(decryptions - before).toBe(1);
    // An error body is searched: once more, into a scratch array wiped at once.
    handler = (_request, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end('{"error":"slow down"}');
    };
    before = decryptions;
    const response = await call('hardened');
    expect(decryptions - before).toBe(2);
    expect(await response.text()).toBe('{"error":"slow down"}');
  });
});

describe('redactResponse', () => {
  const bytes = new TextEncoder().encode(key);
  const lender = () => {
    const lent: Uint8Array[] = [];
    const lend: KeyLender = {
      minLength: bytes.length,
      lend(use) {
        const scratch = bytes.slice();
        lent.push(scratch);
        try {
          return use(scratch);
        } finally {
          scratch.fill(0);
        }
      },
      keep: () => ({ ...lend, drop: () => undefined }),
    };
    return { lend, lent };
  };

  const escaped = (text: string, upper = false) =>
    [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).map((e) => (upper ? e.toUpperCase().replace('\\U', '\\u') : e)).join('');
  /** A stream that yields exactly these chunks. */
  const chunked = (chunks: string[]) => {
    const encoder = new TextEncoder();
    let index = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (index < chunks.length) controller.enqueue(encoder.encode(chunks[index++]));
        else controller.close();
      },
    });
  };

  it('finds the key JSON-escaped (\\u, either hex case, partly or wholly) in an error body, as an SDK would decode it', async () => {
    const { lend, lent } = lender();
    const half = key.length >> 1;
    const forms = [escaped(key), escaped(key, true), key.slice(0, half) + escaped(key.slice(half))];
    const body = JSON.stringify({ error: { message: 'x' } }).replace('"x"', `"${forms.join(' and ')}"`);
    const redacted = await redactResponse(new Response(body, { status: 401 }), lend);
    const text = await redacted.text();
    expect(JSON.parse(text).error.message).toBe([REDACTED, REDACTED, REDACTED].join(' and '));
    expect(lent.every((scratch) => scratch.every((byte) => byte === 0))).toBe(true);
  });

  it('drops a header named with the key (a name cannot be rewritten), in a 2xx as in an error', async () => {
    for (const status of [200, 401]) {
      const { lend } = lender();
      const response = new Response('{}', { status, headers: { [key]: '1', 'x-echo': key, 'content-type': 'application/json' } });
      const redacted = await redactResponse(response, lend);
      expect([...redacted.headers]).toEqual([['content-type', 'application/json'], ['x-echo', REDACTED]]);
    }
  });

  it('redacts a key split across the chunks of an event stream, and holds back only bytes that could begin it', async () => {
    const { lend } = lender();
    const cut = [5, 17, 30];
    const chunks = ['data: one\n\n', `data: ${key.slice(0, cut[0])}`, key.slice(cut[0], cut[1]), key.slice(cut[1], cut[2]),
      `${key.slice(cut[2])} end\n\n`, `data: ${escaped(key).slice(0, 9)}`, `${escaped(key).slice(9)}\n\n`];
    const response = new Response(chunked(chunks), { headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
    const reader = (await redactResponse(response, lend)).body!.getReader();
    const received: string[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) received.push(new TextDecoder().decode(next.value));
    expect(received[0]).toBe('data: one\n\n');
    expect(received.join('')).toBe(`data: one\n\ndata: ${REDACTED} end\n\ndata: ${REDACTED}\n\n`);
  });

  it('decrypts nothing and returns the same Response for a 2xx with no string long enough to hold the key', async () => {
    const { lend, lent } = lender();
    const response = new Response('ok', { headers: { 'content-type': 'application/json', date: new Date().toUTCString() } });
    expect(await redactResponse(response, lend)).toBe(response);
    expect(lent).toEqual([]);
    const long = new Response('ok', { headers: { 'set-cookie': `__cf_bm=${'x'.repeat(200)}` } });
    expect(await redactResponse(long, lend)).toBe(long);
    expect(lent).toHaveLength(1);
    expect(lent[0]!.every((byte) => byte === 0)).toBe(true);
  });

  it('reads a Node stream body (node-fetch) and keeps a status the Response constructor refuses', async () => {
    const { Readable } = await import('node:stream');
    const nodeBody = Readable.from([Buffer.from(`a${key.slice(0, 20)}`), Buffer.from(`${key.slice(20)}b`)]);
    const fake = {
      status: 600, statusText: '', url: 'https://api.example.com/v1', redirected: false, body: nodeBody,
      headers: new Headers({ 'x-echo': key }),
    } as unknown as Response;
    const { lend } = lender();
    const response = await redactResponse(fake, lend);
    expect([response.status, response.ok, response.url]).toEqual([600, false, 'https://api.example.com/v1']);
    expect(response.headers.get('x-echo')).toBe(REDACTED);
    expect(await response.text()).toBe(`a${REDACTED}b`);
  });
});
