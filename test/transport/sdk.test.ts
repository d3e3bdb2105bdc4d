/**
 * The real OpenAI SDK through the adapter, on the hardened transport (the default on Node):
 * timeouts and aborts behave as the SDK expects, and the transport option decides, announces
 * or refuses the fallback to the standard transport.
 */
import OpenAIBase, { APIConnectionTimeoutError, APIUserAbortError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OpenAI } from '../../adapters/openai.ts';
import { createVaultFetch } from '../../adapters/fetch.ts';
import { openVault, type Vault, UsageError } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fakeKey, startServer, type TestServer, testVault } from '../_fixtures/index.ts';

let server: TestServer;
let vault: Vault;
let prepares = 0;
let uses = 0;
const key = fakeKey();
let delay = 0;

beforeAll(async () => {
  const backend = memoryBackend();
  const owner = await testVault({ backend });
  await owner.set('openai-api-key', key);
  await owner.set('short-key', 'sk-123');
  const { token } = await owner.createAgent('bot', { allow: ['*'], ttl: '1h' });
  vault = await openVault({ backend, token });
  const prepare = vault._prepare.bind(vault);
  const use = vault.use.bind(vault);
  Object.defineProperty(vault, '_prepare', { value: (name: string) => (prepares++, prepare(name)) });
  Object.defineProperty(vault, 'use', { value: (name: string, fn: never) => (uses++, use(name, fn)) });
  server = await startServer((request, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'c', object: 'chat.completion', created: 0, model: 'm',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: request.headers.authorization } }],
      }));
    }, delay);
  });
});
afterAll(() => server.close());
afterEach(() => {
  delay = 0;
  vi.restoreAllMocks();
});

const ask = (client: OpenAIBase, options?: { signal?: AbortSignal; timeout?: number }) =>
  client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, options);

function counted<T>(fn: () => Promise<T>): Promise<{ result: T; prepares: number; uses: number }> {
  const before = { prepares, uses };
  return fn().then((result) => ({ result, prepares: prepares - before.prepares, uses: uses - before.uses }));
}

describe('OpenAI over the hardened transport', () => {
  it('is the default: the key arrives, resolved by _prepare (never as a header string)', async () => {
    const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1` });
    const { result, ...calls } = await counted(() => ask(client));
    expect(result.choices[0]!.message.content).toBe(`Bearer ${key}`);
    expect(calls).toEqual({ prepares: 1, uses: 0 });
  });

  it('honours the SDK timeout: APIConnectionTimeoutError, retried with a fresh resolution each time', async () => {
    delay = 1000;
    const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, maxRetries: 1, timeout: 100 });
    const before = prepares;
    await expect(ask(client)).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(prepares - before).toBe(2);
  });

  it('honours an abort signal: APIUserAbortError', async () => {
    delay = 1000;
    const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1` });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(ask(client, { signal: controller.signal })).rejects.toBeInstanceOf(APIUserAbortError);
  });
});

describe('the transport option', () => {
  it("'standard' writes the key into the headers (vault.use), without a warning", async () => {
    const warn = vi.spyOn(process, 'emitWarning');
    const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, transport: 'standard' });
    const { result, ...calls } = await counted(() => ask(client));
    expect(result.choices[0]!.message.content).toBe(`Bearer ${key}`);
    expect(calls).toEqual({ prepares: 0, uses: 1 });
    expect(warn).not.toHaveBeenCalled();
  });

  it("'auto' with the user's own fetch falls back to the standard transport, and says so once", async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const userFetch = vi.fn((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
    const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, fetch: userFetch });
    const { result, ...calls } = await counted(() => ask(client));
    expect(result.choices[0]!.message.content).toBe(`Bearer ${key}`);
    expect(calls).toEqual({ prepares: 0, uses: 1 });
    expect(userFetch).toHaveBeenCalledTimes(1);
    new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, fetch: userFetch });
    const announcements = warn.mock.calls.filter(([message]) => String(message).includes('custom fetch'));
    expect(announcements.length).toBeLessThanOrEqual(1); // once per process (an earlier test may have said it)
  });

  it("'hardened' refuses instead of falling back: a custom fetch, a dispatcher, a short key", async () => {
    const options = { vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, transport: 'hardened' as const };
    expect(() => new OpenAI({ ...options, fetch: (input, init) => fetch(input, init) })).toThrow(UsageError);
    const strict = new OpenAI({ ...options, fetchOptions: { dispatcher: {} } as never, maxRetries: 0 });
    await expect(ask(strict)).rejects.toBeInstanceOf(UsageError);
    const short = new OpenAI({ ...options, secret: 'short-key', maxRetries: 0 });
    await expect(ask(short)).rejects.toThrow(/shorter than 16 bytes/);
  });

  it('a global fetch dispatcher with HTTP/2 makes the standard transport the choice, or a refusal in strict mode', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await fetch(server.origin).then((response) => response.text());
    const symbol = Symbol.for('undici.globalDispatcher.1');
    const global = globalThis as unknown as Record<symbol, { constructor: new (options: object) => unknown }>;
    const original = global[symbol]!;
    global[symbol] = new original.constructor({ allowH2: true }) as never;
    try {
      const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1` });
      const { result, ...calls } = await counted(() => ask(client));
      expect(result.choices[0]!.message.content).toBe(`Bearer ${key}`);
      expect(calls).toEqual({ prepares: 0, uses: 1 });
      expect(warn.mock.calls.some(([message]) => String(message).includes('global fetch dispatcher'))).toBe(true);
      expect(() => new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, transport: 'hardened' })).toThrow(UsageError);
    } finally {
      global[symbol] = original;
    }
  });

  it("'auto' sends a request that names a dispatcher through the standard path", async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const realFetch = globalThis.fetch;
    // Stands in for Node's fetch with a dispatcher (a proxy, HTTP/2): drops it and sends.
    const through = vi.fn((input: string | URL | Request, init?: RequestInit) => {
      const { dispatcher: _dispatcher, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return realFetch(input, rest);
    });
    const vaultFetch = createVaultFetch(vault, { secret: 'openai-api-key', origin: server.origin });
    const client = new OpenAIBase({ apiKey: vaultFetch.placeholder, baseURL: `${server.origin}/v1`, fetch: vaultFetch, fetchOptions: { dispatcher: {} } as never });
    vi.stubGlobal('fetch', through);
    try {
      const { result, ...calls } = await counted(() => ask(client));
      expect(result.choices[0]!.message.content).toBe(`Bearer ${key}`);
      expect(calls).toEqual({ prepares: 0, uses: 1 });
      expect(through).toHaveBeenCalledTimes(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
