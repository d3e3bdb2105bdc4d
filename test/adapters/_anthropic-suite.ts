/**
 * The Anthropic adapter suite. anthropic.test.ts runs it against the newest `@anthropic-ai/sdk`;
 * anthropic-v0.test.ts runs it with the SDK mocked to the oldest version we claim (the
 * `anthropic-v0` alias), so the shipped adapter file is what is tested in both.
 */
import { inspect } from 'node:util';
import AnthropicBase, { AnthropicError, type Middleware } from '@anthropic-ai/sdk';
import { describe, expect, it, vi } from 'vitest';
import { Anthropic, withVault } from '../../adapters/anthropic.ts';
import { AccessDeniedError, UsageError } from '../../src/index.ts';
import { REPLY } from '../../examples/_local-provider.ts';
import { fakeKey, servePerTest } from '../_fixtures/index.ts';
import { agentVault, captureConsole } from './_fixtures.ts';
import {
  credentialHeader, credentialOf, everything, failingFirst, PROVIDER_SERVER, providerHandler, redirectingTo,
} from './_servers.ts';

export interface AnthropicSuiteOptions {
  label: string;
  /** The SDK version the suite must be running against (checked in its User-Agent). */
  version: string;
  /** The header this version sends an API key in. */
  keyHeader: 'authorization' | 'x-api-key';
}

const TEXT = REPLY.join('');
const messages = [{ role: 'user' as const, content: 'hi' }];
const params = { model: 'claude-test', max_tokens: 16, messages };

export function anthropicSuite({ label, version, keyHeader }: AnthropicSuiteOptions): void {
  describe(`Anthropic adapter (${label})`, () => {
    const serve = servePerTest(providerHandler(), PROVIDER_SERVER);

    async function setup(handler = providerHandler(), allow = ['anthropic-*']) {
      const key = fakeKey('sk-ant-test');
      const fixture = await agentVault({ 'anthropic-api-key': key }, allow);
      const server = await serve(handler);
      const client = new Anthropic({ vault: fixture.vault, secret: 'anthropic-api-key', baseURL: server.origin });
      return { ...fixture, key, server, client };
    }

    it('is a real Anthropic client that holds only a placeholder', async () => {
      const { client, key } = await setup();
      expect(client).toBeInstanceOf(AnthropicBase);
      expect(client.apiKey).toMatch(/^agent-vault-placeholder-[0-9a-f]{32}$/);
      await client.messages.create(params);
      expect(inspect(client, { depth: Infinity, showHidden: true })).not.toContain(key);
    });

    it(`messages.create reaches the server with the real key in ${keyHeader}`, async () => {
      const { client, server, key, resolutions } = await setup();
      const message = await client.messages.create(params);
      expect(message.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]!.headers['user-agent']).toBe(`Anthropic/JS ${version}`);
      expect(credentialHeader(server.requests[0]!)).toBe(keyHeader);
      expect(credentialOf(server.requests[0]!)).toBe(key);
      expect(resolutions).toHaveBeenCalledTimes(1);
    });

    it('streamed messages (SSE), raw and through messages.stream(), reach the server with the real key', async () => {
      const { client, server, key, resolutions } = await setup();
      const stream = await client.messages.create({ ...params, stream: true });
      let text = '';
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      }
      expect(text).toBe(TEXT);
      const final = await client.messages.stream(params).finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(server.requests.map(credentialOf)).toEqual([key, key]);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('a 500 then 200 retry resolves the key again for the second attempt', async () => {
      const { client, server, key, resolutions } = await setup(failingFirst(1, 500));
      const message = await client.messages.create(params);
      expect(message.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(server.requests.map(credentialOf)).toEqual([key, key]);
      expect(server.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1']);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('a streamed call is retried (529 overloaded) with a fresh resolution too', async () => {
      const { client, server, key, resolutions } = await setup(failingFirst(1, 529));
      const final = await client.messages.stream(params).finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: TEXT }]);
      expect(server.requests.map(credentialOf)).toEqual([key, key]);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('debug logging (ANTHROPIC_LOG=debug) prints no real key', async () => {
      const key = fakeKey('sk-ant-test');
      const { vault } = await agentVault({ 'anthropic-api-key': key });
      const server = await serve(failingFirst(1, 500));
      const lines = await captureConsole({ ANTHROPIC_LOG: 'debug' }, async () => {
        const client = new Anthropic({ vault, secret: 'anthropic-api-key', baseURL: server.origin });
        await client.messages.create(params);
        await client.messages.stream(params).finalMessage();
        await client.messages.create({ ...params, model: 'x' }, { path: '/nowhere' } as never).catch(() => undefined);
      });
      expect(lines.length).toBeGreaterThan(3);
      expect(lines.join('\n')).toContain(server.origin);
      for (const line of lines) expect(line).not.toContain(key);
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it(`a redirect within the API origin keeps the key; one to another origin never carries ${keyHeader}`, async () => {
      const key = fakeKey('sk-ant-test');
      const { vault } = await agentVault({ 'anthropic-api-key': key });
      const elsewhere = await serve();
      const api = await serve((request, res) => {
        if (request.url.startsWith('/old/')) return redirectingTo(() => api.origin, 308)({ ...request, url: request.url.slice(4) }, res);
        if (request.url.startsWith('/away/')) return redirectingTo(() => elsewhere.origin)({ ...request, url: request.url.slice(5) }, res);
        providerHandler()(request, res);
      });
      const sameOrigin = new Anthropic({ vault, secret: 'anthropic-api-key', baseURL: `${api.origin}/old` });
      expect((await sameOrigin.messages.create(params)).content).toEqual([{ type: 'text', text: TEXT }]);
      expect(api.requests.map((r) => [r.url, credentialOf(r)])).toEqual([['/old/v1/messages', key], ['/v1/messages', key]]);

      const client = new Anthropic({ vault, secret: 'anthropic-api-key', baseURL: `${api.origin}/away` });
      await client.messages.create(params);
      expect(elsewhere.requests).toHaveLength(1);
      expect(credentialOf(elsewhere.requests[0]!)).toBeUndefined();
      expect(everything(elsewhere)).not.toContain(key);
      expect(everything(elsewhere)).not.toContain(client.apiKey);
    });

    it('200 concurrent requests through two clients bound to two secrets each carry their own key', async () => {
      const keys = { a: fakeKey('sk-ant-test'), b: fakeKey('sk-ant-test') };
      const { vault, resolutions } = await agentVault({ 'anthropic-a': keys.a, 'anthropic-b': keys.b });
      const server = await serve();
      const clients = {
        a: new Anthropic({ vault, secret: 'anthropic-a', baseURL: server.origin }),
        b: new Anthropic({ vault, secret: 'anthropic-b', baseURL: server.origin }),
      };
      await Promise.all(Array.from({ length: 200 }, (_, i) => {
        const which = i % 2 === 0 ? 'a' : 'b';
        return clients[which].messages.create({ ...params, model: which });
      }));
      expect(server.requests).toHaveLength(200);
      for (const request of server.requests) {
        expect(credentialOf(request)).toBe(keys[JSON.parse(request.body).model as 'a' | 'b']);
      }
      expect(resolutions).toHaveBeenCalledTimes(200);
    });

    it("a revoked agent's next request rejects with the vault's error before anything is sent, without retries", async () => {
      const { client, server, owner, resolutions } = await setup();
      await client.messages.create(params);
      await owner.revokeAgent('test-agent');
      const error = await client.messages.create(params).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      const streamed = await client.messages.create({ ...params, stream: true }).catch((e: unknown) => e);
      expect(streamed).toBeInstanceOf(AccessDeniedError);
      // The SDK's stream helper wraps every error it did not make into an AnthropicError, with the original as cause.
      const helper = await client.messages.stream(params).finalMessage().catch((e: unknown) => e);
      expect(helper).toBeInstanceOf(AnthropicError);
      expect((helper as Error).cause).toBeInstanceOf(AccessDeniedError);
      expect(server.requests).toHaveLength(1);
      expect(resolutions).toHaveBeenCalledTimes(4); // one each: a refusal is not retried
    });

    it("the user's middleware and fetch still run; middleware sees only the placeholder", async () => {
      const key = fakeKey('sk-ant-test');
      const { vault } = await agentVault({ 'anthropic-api-key': key });
      const server = await serve();
      const seenByMiddleware: string[] = [];
      const middleware: Middleware = async (request, next) => {
        seenByMiddleware.push(JSON.stringify([...new Headers(request.headers)]));
        return next(request);
      };
      const userFetch = vi.fn((input: string | URL | Request, init?: RequestInit) => fetch(input, init));
      const client = new Anthropic({ vault, secret: 'anthropic-api-key', baseURL: server.origin, middleware: [middleware], fetch: userFetch });
      await client.messages.create(params);
      expect(userFetch).toHaveBeenCalledTimes(1);
      expect(seenByMiddleware).toHaveLength(1);
      expect(seenByMiddleware[0]).toContain(client.apiKey!);
      expect(seenByMiddleware[0]).not.toContain(key);
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('withOptions() clones keep the vault binding, without a second refusal middleware', async () => {
      const { client, server, key } = await setup();
      const clone = client.withOptions({ timeout: 5_000 });
      expect(clone).toBeInstanceOf(Anthropic);
      expect(clone.apiKey).not.toBe(client.apiKey);
      expect(clone.middleware).toHaveLength(1);
      await clone.messages.create(params);
      expect(credentialOf(server.requests[0]!)).toBe(key);
    });

    it('withVault(options) configures a client built by hand; a refusal is the VaultError itself', async () => {
      const key = fakeKey('sk-ant-test');
      const { vault, owner, resolutions } = await agentVault({ 'anthropic-api-key': key });
      const server = await serve();
      const client = new AnthropicBase(withVault({ baseURL: server.origin }, { vault, secret: 'anthropic-api-key' }));
      await client.messages.create(params);
      expect(credentialOf(server.requests[0]!)).toBe(key);
      await owner.revokeAgent('test-agent');
      await expect(client.messages.create(params)).rejects.toBeInstanceOf(AccessDeniedError);
      expect(server.requests).toHaveLength(1);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('refuses an apiKey, and a missing vault or secret, with a UsageError', () => {
      const vault = { use: async () => undefined } as never;
      expect(() => new Anthropic({ vault, secret: 's', apiKey: 'sk-x' } as never)).toThrow(UsageError);
      expect(() => new Anthropic({ vault, secret: 's', authToken: 'tok' } as never)).toThrow(/authToken/);
      expect(() => new Anthropic({ secret: 's' } as never)).toThrow(/needs \{ vault, secret \}/);
    });
  });
}
