/**
 * The matrix every SDK adapter passes, with the real SDK against loopback servers shared by the
 * file: a call and a stream carry the real key in the SDK's own header; a 500 then 200 resolves
 * the key again; a refusal (revoked, not granted) rejects with the VaultError, unretried, with
 * nothing sent; a redirect to another origin carries neither the key nor the placeholder; the
 * client object holds no key.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPLY } from '../../examples/_local-provider.ts';
import { AccessDeniedError, type Vault } from '../../src/index.ts';
import { fakeKey, type Received, startServer, type TestServer } from '../_fixtures/index.ts';
import { agentVault } from './_fixtures.ts';
import { failingFirst, type Handler, providerHandler, redirectingTo } from './_servers.ts';
import { sdkAttacks } from './_sdk-attacks.ts';

export const TEXT = REPLY.join('');

export interface SdkMatrix<C> {
  /** e.g. `@ai-sdk/openai createOpenAI` */
  label: string;
  /** The header the SDK sends its API key in: `authorization` (Bearer), `x-api-key`, `x-goog-api-key`. */
  keyHeader: string;
  /** The stand-in API. Default: the OpenAI/Anthropic one. */
  handler?: () => Handler;
  /** The SDK's base URL on a server's origin (e.g. `${origin}/v1`). */
  baseURL(origin: string): string;
  /** The adapter's client (or provider, or model) for `{ vault, secret }` on `baseURL`, retries allowed. */
  client(binding: { vault: Vault; secret: string }, baseURL: string): C | Promise<C>;
  /** One plain call; resolves to the reply text. */
  call(client: C): Promise<string>;
  /** One streamed call; resolves to the concatenated text. */
  stream(client: C): Promise<string>;
  /** The error a refusal surfaces as, given the VaultError's class. Default: that VaultError. */
  refusal?: (error: unknown) => unknown;
  /** A call the SDK sends to `url` (another origin) through a per-request option, where it has one. */
  foreignCall?: (client: C, url: string) => Promise<unknown>;
  /** The VaultError, from what a refusal after a failed attempt surfaces as. Default: `refusal`. */
  refusalAfterRetry?: (error: unknown) => unknown;
}

/** The key as it arrived in `header` (the Bearer scheme stripped), or undefined. */
export function keyIn(request: Received, header: string): string | undefined {
  const value = request.headers[header];
  const text = Array.isArray(value) ? value[0] : value;
  return header === 'authorization' ? text?.replace(/^Bearer /, '') : text;
}

export function sdkMatrix<C>(matrix: SdkMatrix<C>): void {
  describe(`${matrix.label}: the adapter matrix`, () => {
    let handler: Handler;
    let api: TestServer;
    let elsewhere: TestServer;
    const stand = () => (matrix.handler ?? providerHandler)();
    beforeAll(async () => {
      api = await startServer((request, res) => handler(request, res));
      elsewhere = await startServer((request, res) => stand()(request, res));
    });
    afterAll(async () => {
      await Promise.all([api.close(), elsewhere.close()]);
    });
    beforeEach(() => {
      handler = stand();
      api.requests.length = 0;
      elsewhere.requests.length = 0;
    });

    async function setup(secret = 'provider-api-key') {
      const key = fakeKey();
      const fixture = await agentVault({ 'provider-api-key': key }, ['provider-*']);
      const client = await matrix.client({ vault: fixture.vault, secret }, matrix.baseURL(api.origin));
      return { ...fixture, key, client };
    }
    const refusal = (error: unknown) => (matrix.refusal ? matrix.refusal(error) : error);

    it(`a call reaches the API with the real key in ${matrix.keyHeader}; the client holds no key`, async () => {
      const { client, key, resolutions } = await setup();
      expect(await matrix.call(client)).toBe(TEXT);
      expect(api.requests).toHaveLength(1);
      expect(keyIn(api.requests[0]!, matrix.keyHeader)).toBe(key);
      expect(resolutions).toHaveBeenCalledTimes(1);
      expect(inspect(client, { depth: 8, showHidden: true })).not.toContain(key);
    });

    it('a streamed call reaches the API with the real key', async () => {
      const { client, key, resolutions } = await setup();
      expect(await matrix.stream(client)).toBe(TEXT);
      expect(api.requests.map((r) => keyIn(r, matrix.keyHeader))).toEqual([key]);
      expect(resolutions).toHaveBeenCalledTimes(1);
    });

    it('a 500 then 200 resolves the key again for the retry', async () => {
      const { client, key, resolutions } = await setup();
      handler = failingFirst(1, 500, stand());
      expect(await matrix.call(client)).toBe(TEXT);
      expect(api.requests.map((r) => keyIn(r, matrix.keyHeader))).toEqual([key, key]);
      expect(resolutions).toHaveBeenCalledTimes(2);
    });

    it('a revoked agent makes no request: call and stream reject with the VaultError, unretried', async () => {
      const { client, owner, resolutions } = await setup();
      expect(await matrix.call(client)).toBe(TEXT);
      await owner.revokeAgent('test-agent');
      for (const attempt of [matrix.call, matrix.stream]) {
        const error = refusal(await attempt(client).then(() => 'no error', (e: unknown) => e));
        expect(error).toBeInstanceOf(AccessDeniedError);
        expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
      }
      expect(api.requests).toHaveLength(1);
      expect(resolutions).toHaveBeenCalledTimes(3); // one each: a refusal is not retried
    });

    it('a secret the agent is not granted rejects with AccessDeniedError (not-granted), nothing sent', async () => {
      const { client, owner } = await setup('other-key');
      await owner.set('other-key', fakeKey());
      const error = refusal(await matrix.call(client).then(() => 'no error', (e: unknown) => e));
      expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'not-granted' });
      expect(api.requests).toHaveLength(0);
    });

    it('a redirect to another origin carries neither the key nor the placeholder', async () => {
      const { client, key } = await setup();
      handler = redirectingTo(() => elsewhere.origin);
      await matrix.call(client).catch(() => undefined);
      expect(api.requests).toHaveLength(1);
      expect(keyIn(api.requests[0]!, matrix.keyHeader)).toBe(key);
      expect(elsewhere.requests.length).toBeGreaterThanOrEqual(1);
      const received = JSON.stringify(elsewhere.requests);
      expect(received).not.toContain(key);
      expect(received).not.toContain('agent-vault-placeholder-');
    });

    sdkAttacks<C>({
      api: () => api,
      elsewhere: () => elsewhere,
      answer: (next) => { handler = next; },
      setup,
      client: (binding) => matrix.client(binding, matrix.baseURL(api.origin)),
      call: matrix.call,
      stream: matrix.stream,
      refusal: matrix.refusalAfterRetry ?? refusal,
      keyHeader: matrix.keyHeader,
      ...(matrix.foreignCall ? { foreignCall: matrix.foreignCall } : {}),
    });
  });
}
