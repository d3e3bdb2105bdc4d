/**
 * The OpenAI adapter suite. openai.test.ts runs it against the newest `openai`; openai-v4.test.ts
 * runs it with `openai` mocked to the oldest version we claim (the `openai-v4` alias), so the
 * shipped adapter file is what is tested in both.
 */
import { inspect } from 'node:util';
import OpenAIBase, { OpenAIError, PermissionDeniedError, toFile } from 'openai';
import { describe, expect, it, vi } from 'vitest';
import { AzureOpenAI, OpenAI, withVault } from '../../adapters/openai.ts';
import { AccessDeniedError, UsageError } from '../../src/index.ts';
import { REPLY } from '../../examples/_local-provider.ts';
import { fakeKey, servePerTest } from '../_fixtures/index.ts';
import { agentVault, agentWithKey, captureConsole } from './_fixtures.ts';
import {
  credentialHeader, credentialOf, everything, failingFirst, PROVIDER_SERVER, providerHandler, redirectingTo,
} from './_servers.ts';

export interface OpenAISuiteOptions {
  /** e.g. `openai 7.x, newest` */
  label: string;
  /** The SDK version the suite must be running against (checked in its User-Agent). */
  version: string;
  /** The environment that turns the SDK's debug logging on. */
  debugEnv: Record<string, string>;
}

const TEXT = REPLY.join('');
/** `chat.completions.stream` (openai 5+), or `beta.chat.completions.stream` (openai 4). */
type StreamHelper = OpenAIBase['chat']['completions']['stream'];
const streamHelper = (client: OpenAIBase): StreamHelper => {
  const completions = client.chat.completions as Partial<OpenAIBase['chat']['completions']>;
  if (completions.stream) return completions.stream.bind(completions) as StreamHelper;
  const beta = (client as unknown as { beta: { chat: { completions: { stream: StreamHelper } } } }).beta.chat.completions;
  return beta.stream.bind(beta) as StreamHelper;
};
const messages = [{ role: 'user' as const, content: 'hi' }];

export function openaiSuite({ label, version, debugEnv }: OpenAISuiteOptions): void {
  describe(`OpenAI adapter (${label})`, () => {
    const serve = servePerTest(providerHandler(), PROVIDER_SERVER);

    async function setup(handler = providerHandler()) {
      const key = fakeKey();
      const fixture = await agentVault({ 'openai-api-key': key }, ['openai-*']);
      const server = await serve(handler);
      const client = new OpenAI({ vault: fixture.vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1` });
      return { ...fixture, key, server, client };
    }

    it('is a real OpenAI client that holds only a placeholder', async () => {
      const { client, key } = await setup();
      expect(client).toBeInstanceOf(OpenAIBase);
      expect(client.apiKey).toMatch(/^agent-vault-placeholder-[0-9a-f]{32}$/);
      await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(inspect(client, { depth: Infinity, showHidden: true })).not.toContain(key);
      expect(client.apiKey).not.toContain(key);
    });

    it('chat.completions.create reaches the server with the real key as Authorization: Bearer', async () => {
      const { client, server, key, resolutions } = await setup();
      const completion = await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(completion.choices[0]?.message.content).toBe(TEXT);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]!.headers['user-agent']).toBe(`OpenAI/JS ${version}`);
      expect(credentialHeader(server.requests[0]!)).toBe('authorization');
      expect(credentialOf(server.requests[0]!)).toBe(key);
      expect(resolutions).toHaveBeenCalledTimes(1);
    });

    it('a streamed chat completion (SSE) reaches the server with the real key', async () => {
      const { client, server, key, resolutions } = await setup();
      const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(TEXT);
      expect(JSON.parse(server.requests[0]!.body).stream).toBe(true);
      expect(credentialOf(server.requests[0]!)).toBe(key);
      expect(resolutions).toHaveBeenCalledTimes(1);
    });

    it("the SDK's chat stream helper works", async () => {
      const { client, server, key } = await setup();
      const completion = await streamHelper(client)({ model: 'gpt-test', messages }).finalChatCompletion();
      expect(completion.choices[0]?.message.content).toBe(TEXT);
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('responses.create, plain and streamed, reaches the server with the real key', async () => {
      const { client, server, key } = await setup();
      const response = await client.responses.create({ model: 'gpt-test', input: 'hi' });
      expect(response.output_text).toBe(TEXT);
      const stream = await client.responses.create({ model: 'gpt-test', input: 'hi', stream: true });
      let text = '';
      for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
      expect(text).toBe(TEXT);
      expect(server.requests.map((r) => [r.url, credentialOf(r)])).toEqual([['/v1/responses', key], ['/v1/responses', key]]);
    });

    it('a multipart file upload keeps working (the SDK\'s own transport is wrapped)', async () => {
      const { client, server, key } = await setup((_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'file-1', object: 'file', bytes: 5, created_at: 0, filename: 'a.jsonl', purpose: 'batch', status: 'processed' }));
      });
      const file = await client.files.create({ file: await toFile(Buffer.from('{}\n{}\n'), 'a.jsonl'), purpose: 'batch' });
      expect(file.id).toBe('file-1');
      expect(server.requests[0]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(server.requests[0]!.body).toContain('filename="a.jsonl"');
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('withVault(options): a multipart upload works through globalThis.fetch too', async () => {
      const { vault, key } = await agentWithKey('openai-api-key');
      const server = await serve((_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'file-2', object: 'file', bytes: 3, created_at: 0, filename: 'b.jsonl', purpose: 'batch', status: 'processed' }));
      });
      const client = new OpenAIBase(withVault({ baseURL: `${server.origin}/v1`, maxRetries: 0 }, { vault, secret: 'openai-api-key' }));
      const file = await client.files.create({ file: await toFile(Buffer.from('{}\n'), 'b.jsonl'), purpose: 'batch' });
      expect(file.id).toBe('file-2');
      expect(server.requests[0]!.body).toContain('filename="b.jsonl"');
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('a 500 then 200 retry resolves the key again for the second attempt', async () => {
      const { client, server, key, resolutions } = await setup(failingFirst(1, 500));
      const completion = await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(completion.choices[0]?.message.content).toBe(TEXT);
      expect(server.requests.map(credentialOf)).toEqual([key, key]);
      expect(server.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('a streamed call is retried with a fresh resolution too', async () => {
      const { client, server, key, resolutions } = await setup(failingFirst(1, 503));
      const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(TEXT);
      expect(server.requests.map(credentialOf)).toEqual([key, key]);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('debug logging prints no real key', async () => {
      const key = fakeKey();
      const { vault } = await agentVault({ 'openai-api-key': key });
      const server = await serve(failingFirst(1, 500));
      const lines = await captureConsole(debugEnv, async () => {
        const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1` });
        await client.chat.completions.create({ model: 'gpt-test', messages });
        const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true });
        for await (const _ of stream) { /* drain */ }
        await client.chat.completions.create({ model: 'gpt-test', messages: [] }, { path: '/nowhere' } as never).catch(() => undefined);
      });
      expect(lines.length).toBeGreaterThan(3);
      expect(lines.join('\n')).toContain(server.origin);
      for (const line of lines) expect(line).not.toContain(key);
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('a redirect within the API origin keeps the key; one to another origin never carries it', async () => {
      const { vault, key } = await agentWithKey('openai-api-key');
      const elsewhere = await serve();
      const api = await serve((request, res) => {
        if (request.url.startsWith('/old/')) return redirectingTo(() => api.origin)({ ...request, url: request.url.slice(4) }, res);
        if (request.url.startsWith('/away/')) return redirectingTo(() => elsewhere.origin)({ ...request, url: request.url.slice(5) }, res);
        providerHandler()(request, res);
      });
      const sameOrigin = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${api.origin}/old/v1` });
      expect((await sameOrigin.chat.completions.create({ model: 'gpt-test', messages })).choices[0]?.message.content).toBe(TEXT);
      expect(api.requests.map((r) => [r.url, credentialOf(r)])).toEqual([['/old/v1/chat/completions', key], ['/v1/chat/completions', key]]);

      const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${api.origin}/away/v1` });
      await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(elsewhere.requests).toHaveLength(1);
      expect(credentialOf(elsewhere.requests[0]!)).toBeUndefined();
      expect(everything(elsewhere)).not.toContain(key);
      expect(everything(elsewhere)).not.toContain(client.apiKey);
    });

    it('200 concurrent requests through two clients bound to two secrets each carry their own key', async () => {
      const keys = { a: fakeKey(), b: fakeKey() };
      const { vault, resolutions } = await agentVault({ 'openai-a': keys.a, 'openai-b': keys.b });
      const server = await serve();
      const clients = {
        a: new OpenAI({ vault, secret: 'openai-a', baseURL: `${server.origin}/v1` }),
        b: new OpenAI({ vault, secret: 'openai-b', baseURL: `${server.origin}/v1` }),
      };
      await Promise.all(Array.from({ length: 200 }, (_, i) => {
        const which = i % 2 === 0 ? 'a' : 'b';
        return clients[which].chat.completions.create({ model: which, messages });
      }));
      expect(server.requests).toHaveLength(200);
      for (const request of server.requests) {
        expect(credentialOf(request)).toBe(keys[JSON.parse(request.body).model as 'a' | 'b']);
      }
      expect(resolutions).toHaveBeenCalledTimes(200);
    });

    it("a revoked agent's next request rejects with the vault's error before anything is sent, without retries", async () => {
      const { client, server, owner, resolutions } = await setup();
      await client.chat.completions.create({ model: 'gpt-test', messages });
      await owner.revokeAgent('test-agent');
      const error = await client.chat.completions.create({ model: 'gpt-test', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      const streamed = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true }).catch((e: unknown) => e);
      expect(streamed).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      // The SDK's stream helper wraps every error it did not make into an OpenAIError, with the original as cause.
      const helper = await streamHelper(client)({ model: 'gpt-test', messages }).finalChatCompletion().catch((e: unknown) => e);
      expect(helper).toBeInstanceOf(OpenAIError);
      expect((helper as Error).cause).toBeInstanceOf(AccessDeniedError);
      expect(server.requests).toHaveLength(1);
      expect(resolutions).toHaveBeenCalledTimes(4); // one each: a refusal is not retried
    });

    it('a secret the agent is not granted rejects with AccessDeniedError (not-granted), nothing sent', async () => {
      const { vault, owner } = await agentVault({ 'openai-api-key': fakeKey() }, ['openai-*']);
      await owner.set('other-key', fakeKey());
      const server = await serve();
      const client = new OpenAI({ vault, secret: 'other-key', baseURL: `${server.origin}/v1` });
      await expect(client.chat.completions.create({ model: 'gpt-test', messages })).rejects.toMatchObject({
        code: 'ACCESS_DENIED', reason: 'not-granted',
      });
      expect(server.requests).toHaveLength(0);
    });

    it("wraps the user's own fetch, once per attempt", async () => {
      const { vault, key } = await agentWithKey('openai-api-key');
      const server = await serve(failingFirst(1, 500));
      const userFetch = vi.fn((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
      const client = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${server.origin}/v1`, fetch: userFetch });
      await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(userFetch).toHaveBeenCalledTimes(2);
      expect(server.requests.map(credentialOf)).toEqual([key, key]);
    });

    it('withOptions() clones keep the vault binding and get their own placeholder', async (context) => {
      const { client, server, key } = await setup();
      if (typeof (client as { withOptions?: unknown }).withOptions !== 'function') return context.skip();
      const clone = client.withOptions({ timeout: 5_000 });
      expect(clone).toBeInstanceOf(OpenAI);
      expect(clone.apiKey).not.toBe(client.apiKey);
      await clone.chat.completions.create({ model: 'gpt-test', messages });
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('withVault(options) configures a client built by hand; a refusal is a 403 that is not retried', async () => {
      const { vault, owner, resolutions, key } = await agentWithKey('openai-api-key');
      const server = await serve();
      const client = new OpenAIBase(withVault({ baseURL: `${server.origin}/v1` }, { vault, secret: 'openai-api-key' }));
      await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(credentialOf(server.requests[0]!)).toBe(key);
      expect(client.apiKey).toMatch(/^agent-vault-placeholder-/);
      await owner.revokeAgent('test-agent');
      const error = await client.chat.completions.create({ model: 'gpt-test', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as PermissionDeniedError).status).toBe(403);
      expect((error as PermissionDeniedError).error).toMatchObject({ type: 'agent_vault_refusal', code: 'ACCESS_DENIED' });
      expect(server.requests).toHaveLength(1);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('AzureOpenAI sends the key as api-key, only to its endpoint', async () => {
      const key = fakeKey();
      const { vault } = await agentVault({ 'azure-key': key });
      const elsewhere = await serve();
      const api = await serve((request, res) =>
        request.url.includes('/away') ? redirectingTo(() => elsewhere.origin)(request, res) : providerHandler()(request, res));
      const client = new AzureOpenAI({ vault, secret: 'azure-key', endpoint: api.origin, apiVersion: '2024-10-21', deployment: 'dep' });
      expect(client).toBeInstanceOf(OpenAIBase);
      const completion = await client.chat.completions.create({ model: 'gpt-test', messages });
      expect(completion.choices[0]?.message.content).toBe(TEXT);
      expect(api.requests[0]!.url).toMatch(/^\/openai\/deployments\/dep\/chat\/completions\?api-version=/);
      expect(credentialHeader(api.requests[0]!)).toBe('api-key');
      expect(credentialOf(api.requests[0]!)).toBe(key);

      // fetch itself would forward api-key across origins; the vault fetch never does.
      const away = new AzureOpenAI({ vault, secret: 'azure-key', baseURL: `${api.origin}/away/openai`, apiVersion: '2024-10-21' });
      await away.chat.completions.create({ model: 'gpt-test', messages }).catch(() => undefined);
      expect(everything(elsewhere)).not.toContain(key);
      for (const request of elsewhere.requests) expect(credentialOf(request)).toBeUndefined();
    });

    it('refuses an apiKey, and a missing vault or secret, with a UsageError', () => {
      const vault = { use: async () => undefined } as never;
      expect(() => new OpenAI({ vault, secret: 's', apiKey: 'sk-x' } as never)).toThrow(UsageError);
      expect(() => new OpenAI({ secret: 's' } as never)).toThrow(/needs \{ vault, secret \}/);
      expect(() => new OpenAI({ vault } as never)).toThrow(UsageError);
    });
  });
}
