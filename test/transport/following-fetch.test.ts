/**
 * A user's fetch that ignores `redirect: 'manual'` and follows redirects itself would carry the
 * key in `x-api-key` or `api-key` to wherever a redirect points (fetch drops only Authorization
 * on a hop to another origin). The vault fetch sees it in the answer (`redirected`, or a URL other
 * than the one asked for), refuses with a UsageError that says what to do, and sends no key
 * through that fetch again.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createVaultFetch } from '../../adapters/fetch.ts';
import { OpenAI } from '../../adapters/openai.ts';
import type { Vault } from '../../src/index.ts';
import { echo, servePerTest } from '../_fixtures/index.ts';
import { agentWithKey } from '../adapters/_fixtures.ts';

const serve = servePerTest(echo);
let key: string;
let vault: Vault;

beforeAll(async () => {
  ({ vault, key } = await agentWithKey('api-key'));
});

/** A fetch that overrides the redirect mode, as some wrappers (and old polyfills) do. */
const following: typeof fetch = (input, init) => globalThis.fetch(input, { ...init, redirect: 'follow' });

async function redirectingApi(status = 307) {
  const other = await serve(echo);
  const api = await serve((request, res) => {
    if (request.url.startsWith('/moved')) {
      res.writeHead(status, { location: `${other.origin}/elsewhere` });
      return res.end();
    }
    echo(request, res, undefined as never);
  });
  return { api, other };
}

describe('a custom fetch that follows redirects itself', () => {
  for (const header of ['x-api-key', 'api-key'] as const) {
    it(`is refused once seen, and never given the key (${header}) again`, async () => {
      const { api, other } = await redirectingApi();
      const vaultFetch = createVaultFetch(vault, { secret: 'api-key', origin: api.origin, header, fetch: following });
      const error = await vaultFetch(`${api.origin}/moved`, { method: 'POST', body: '{}' }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'USAGE' });
      expect((error as Error).message).toMatch(/followed a redirect itself.*honour redirect: 'manual'.*rotate the key/s);
      expect((error as Error).message).not.toContain(key);
      // The first one went before its answer could tell (the limit of detecting it afterwards).
      expect(other.requests).toHaveLength(1);
      const requestsBefore = api.requests.length;
      // From now on nothing with the key goes through that fetch, not even to the API itself.
      await expect(vaultFetch(`${api.origin}/ok`, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'USAGE' });
      await expect(vaultFetch(`${api.origin}/moved`, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'USAGE' });
      expect(api.requests.length).toBe(requestsBefore);
      expect(other.requests).toHaveLength(1);
    });
  }

  it('a fetch that honours redirect: manual is not refused, and the vault fetch follows the redirect without the key', async () => {
    const { api, other } = await redirectingApi();
    const vaultFetch = createVaultFetch(vault, { secret: 'api-key', origin: api.origin, header: 'x-api-key', fetch: (input, init) => globalThis.fetch(input, init) });
    const response = await vaultFetch(`${api.origin}/moved`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]!.headers['x-api-key']).toBeUndefined();
    await expect(vaultFetch(`${api.origin}/ok`, { method: 'POST', body: '{}' })).resolves.toMatchObject({ status: 200 });
  });

  it('through the OpenAI adapter, the SDK throws the UsageError itself (no retry)', async () => {
    const { api } = await redirectingApi();
    const client = new OpenAI({ vault, secret: 'api-key', baseURL: `${api.origin}/moved`, fetch: following, maxRetries: 2 });
    await expect(client.models.list()).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/followed a redirect itself/) });
    // One attempt: the refusal is not retried.
    expect(api.requests).toHaveLength(1);
  });
});
