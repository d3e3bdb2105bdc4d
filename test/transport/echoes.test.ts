/**
 * Echoes of the key, tried as a hostile or careless provider would send them, through the real
 * OpenAI and Anthropic SDKs on both transports: an `error` event inside a 200 event stream (split
 * across chunks), a 401 body writing the key with JSON `\u` escapes, a percent-encoded header, and
 * a malformed response head that quotes the key (so the HTTP parser fails holding it). The key
 * must be absent from what the caller gets: results, errors, their cause chains and `inspect`.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import AnthropicBase from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Anthropic } from '../../adapters/anthropic.ts';
import { createVaultFetch } from '../../adapters/fetch.ts';
import { OpenAI } from '../../adapters/openai.ts';
import { REDACTED } from '../../adapters/transport/_redact.ts';
import { redactEventStream } from '../../adapters/transport/_redact-stream.ts';
import type { Vault } from '../../src/index.ts';
import { type Handler, startServer, type TestServer } from '../_fixtures/index.ts';
import { agentWithKey } from '../adapters/_fixtures.ts';
import { credentialOf } from '../adapters/_servers.ts';

let key: string;
let vault: Vault;
let server: TestServer;
let handler: Handler;

beforeAll(async () => {
  ({ vault, key } = await agentWithKey('api-key'));
  server = await startServer((request, res, req) => handler(request, res, req));
});
afterAll(() => server.close());

/** Every character as a JSON `\u` escape. */
const uEscaped = (text: string) => Array.from(text, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
const percentEncoded = (text: string) => Array.from(text, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`).join('');

/** Everything an error shows: its message, `inspect` (cause chain included) and each cause's own fields. */
function shown(error: unknown): string {
  const parts = [inspect(error, { depth: 20, showHidden: true })];
  for (let cause: unknown = error, depth = 0; cause && depth < 10; cause = (cause as { cause?: unknown }).cause, depth++) {
    for (const name of Object.getOwnPropertyNames(cause)) {
      const value = (cause as Record<string, unknown>)[name];
      parts.push(value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value));
    }
  }
  return parts.join('\n');
}

/** Absent as itself and in the encodings the echoes use. */
function expectNoKey(text: string): void {
  expect(text).not.toContain(key);
  expect(text).not.toContain(uEscaped(key));
  expect(text).not.toContain(percentEncoded(key));
  // No 16-character run of it either (a packet cut inside the key).
  for (let at = 0; at + 16 <= key.length; at += 8) expect(text).not.toContain(key.slice(at, at + 16));
}

/** Write `text` in pieces, waiting between them, so that the key arrives across chunks. */
async function writeSplit(res: import('node:http').ServerResponse, text: string, cuts: number[]): Promise<void> {
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    res.write(text.slice(from, cut));
    from = cut;
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  res.end();
}

const sdks = {
  openai: {
    client: (transport: 'hardened' | 'standard', baseURL = `${server.origin}/v1`) =>
      new OpenAI({ vault, secret: 'api-key', baseURL, maxRetries: 0, transport }),
    errorEvent: (sent: string) => `data: ${JSON.stringify({ error: { message: `Invalid key ${sent}`, type: 'invalid_request_error' } })}\n\n`,
    async stream(client: unknown) {
      const stream = await (client as OpenAI).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const _ of stream) { /* consumed */ }
    },
    call: (client: unknown) => (client as OpenAI).chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  },
  anthropic: {
    client: (transport: 'hardened' | 'standard', baseURL = server.origin) =>
      new Anthropic({ vault, secret: 'api-key', baseURL, maxRetries: 0, transport }),
    errorEvent: (sent: string) =>
      `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: `Invalid key ${sent}` } })}\n\n`,
    async stream(client: unknown) {
      const stream = await (client as AnthropicBase).messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const _ of stream) { /* consumed */ }
    },
    call: (client: unknown) => (client as AnthropicBase).messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }),
  },
};

/** A raw TCP server that answers with a malformed head quoting the credential it was sent. */
async function malformedHeadServer(): Promise<{ origin: string; close(): void }> {
  const raw = net.createServer((socket) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const sent = /^(?:authorization: Bearer |x-api-key: )(.+)$/im.exec(head)?.[1]?.trim() ?? '';
      // A control character in a header name: both parsers stop there, holding the bytes before it.
      socket.end(`HTTP/1.1 200 OK\r\nx-echo: ${sent}\r\nbad\x01header: ${sent}\r\ncontent-length: 0\r\n\r\n`);
    });
    socket.on('error', () => undefined);
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  return { origin: `http://127.0.0.1:${(raw.address() as AddressInfo).port}`, close: () => raw.close() };
}

for (const [name, sdk] of Object.entries(sdks)) {
  for (const transport of ['hardened', 'standard'] as const) {
    describe(`${name}, ${transport} transport`, () => {
      it('an error event inside a 200 stream, split across chunks, reaches the SDK redacted', async () => {
        handler = (request, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const event = sdk.errorEvent(credentialOf(request)!);
          const at = event.indexOf(key);
          void writeSplit(res, event, [at + 3, at + 20]);
        };
        const error = await sdk.stream(sdk.client(transport)).then(() => undefined, (caught: unknown) => caught);
        expect(error).toBeInstanceOf(Error);
        expect(String((error as Error).message)).toContain(REDACTED);
        expectNoKey(shown(error));
      });

      it('a 401 body writing the key with \\u escapes, and a percent-encoded header, reach the SDK redacted', async () => {
        handler = (request, res) => {
          const sent = credentialOf(request)!;
          res.writeHead(401, { 'content-type': 'application/json', 'x-echo': percentEncoded(sent) });
          res.end(`{"error":{"type":"authentication_error","message":"Incorrect API key provided: ${uEscaped(sent)}"}}`);
        };
        const error = await sdk.call(sdk.client(transport)).then(() => undefined, (caught: unknown) => caught);
        expect((error as { status?: number }).status).toBe(401);
        expect((error as Error).message).toContain(REDACTED);
        expect((error as { headers?: Headers }).headers?.get?.('x-echo') ?? (error as { headers?: Record<string, string> }).headers?.['x-echo']).toBe(REDACTED);
        expectNoKey(shown(error));
      });

      it('a malformed response head quoting the key leaves no key byte in the error or its causes', async () => {
        const raw = await malformedHeadServer();
        try {
          const client = sdk.client(transport, name === 'openai' ? `${raw.origin}/v1` : raw.origin);
          const error = await sdk.call(client).then(() => undefined, (caught: unknown) => caught);
          expect(error).toBeInstanceOf(Error);
          // The parser's failure is still there, without the bytes it received.
          expect(shown(error)).toMatch(/HPE_|Parse Error|parser|other side closed|invalid/i);
          expectNoKey(shown(error));
        } finally {
          raw.close();
        }
      });
    });
  }
}

describe('redactEventStream', () => {
  const held = () => {
    const bytes = new TextEncoder().encode(key);
    const state = { drops: 0 };
    return { state, key: { minLength: bytes.length, lend: <T>(use: (k: Uint8Array) => T) => use(bytes), keep: () => { throw new Error('not kept twice'); }, drop: () => state.drops++ } };
  };
  const streamOf = (chunks: string[]) => new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let out = '';
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) out += new TextDecoder().decode(chunk);
    return out;
  };

  it('redacts an echo (as itself, \\u-escaped or percent-encoded) cut at every position, and drops the key at the end', async () => {
    for (const echo of [key, uEscaped(key), percentEncoded(key)]) {
      const text = `data: {"ok":1}\n\nevent: error\ndata: {"message":"bad key ${echo}"}\n\n`;
      for (let cut = 1; cut < text.length; cut++) {
        const { state, key: lender } = held();
        const out = await read(redactEventStream(streamOf([text.slice(0, cut), text.slice(cut)]), lender));
        expect(out).toBe(`data: {"ok":1}\n\nevent: error\ndata: {"message":"bad key ${REDACTED}"}\n\n`);
        expect(state.drops).toBe(1);
      }
    }
  });

  it('holds back only a possible start of an echo, and drops the key when cancelled', async () => {
    const { state, key: lender } = held();
    let push!: (chunk: string) => void;
    const source = new ReadableStream<Uint8Array>({ start(controller) { push = (chunk) => controller.enqueue(new TextEncoder().encode(chunk)); } });
    const reader = redactEventStream(source, lender).getReader();
    push(`data: one\n\ndata: ${key.slice(0, 10)}`);
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\ndata: ');
    push(`${key.slice(10)} and more\n\n`);
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(`${REDACTED} and more\n\n`);
    await reader.cancel();
    expect(state.drops).toBe(1);
  });
});

describe('the hardened transport and a long event stream', () => {
  it('keeps the preparation until the stream ends, then ends it', async () => {
    let disposed = 0;
    const prepare = vault._prepare.bind(vault);
    const watched = Object.create(vault) as Vault;
    Object.defineProperty(watched, '_prepare', {
      value: async (name: string) => {
        const prepared = await prepare(name);
        return { length: prepared.length, decryptInto: prepared.decryptInto, dispose: () => (disposed++, prepared.dispose()) };
      },
    });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    handler = (request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      void finished.then(() => res.end(`data: ${credentialOf(request)}\n\n`));
    };
    const vaultFetch = createVaultFetch(watched, { secret: 'api-key', origin: server.origin, header: 'authorization', transport: 'hardened' });
    const response = await vaultFetch(`${server.origin}/v1/stream`, { method: 'POST', body: '{}' });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\n');
    expect(disposed).toBe(0);
    finish();
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value);
    expect(rest).toBe(`data: ${REDACTED}\n\n`);
    expect(disposed).toBe(1);
  });
});
