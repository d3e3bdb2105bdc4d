/**
 * The one redirect policy (adapters/transport/_redirects.ts): the vault fetch follows redirects
 * by hand over either transport, the hardened transport itself sends exactly one hop, and a hop
 * to another origin drops the credentials, `host` and the placeholder, and never gets the key back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultFetch } from '../../adapters/fetch.ts';
import { HardenedTransport } from '../../adapters/transport/_hardened.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { openVault, type Vault } from '../../src/index.ts';
import { echo, fakeKey, type Handler, servePerTest, type TestServer, testVault } from '../_fixtures/index.ts';

const serve = servePerTest(echo);
const key = fakeKey();
let vault: Vault;

function redirect(status: number, location: () => string): Handler {
  return (_request, res) => {
    res.writeHead(status, { location: location() });
    res.end('moved');
  };
}

beforeAll(async () => {
  const backend = memoryBackend();
  const owner = await testVault({ backend });
  await owner.set('api-key', key);
  const { token } = await owner.createAgent('bot', { allow: ['*'], ttl: '1h' });
  vault = await openVault({ backend, token });
});

const json = async (response: Response) => (await response.json()) as { method: string; url: string; headers: Record<string, string>; body: string };

describe('the hardened transport sends exactly one hop', () => {
  const transport = new HardenedTransport();
  afterAll(() => transport.close());

  it('a redirect comes back as the 3xx itself, whatever the redirect mode, and nothing follows it', async () => {
    const target = await serve(echo);
    const server = await serve(redirect(307, () => `${target.origin}/end`));
    for (const mode of ['follow', 'manual', 'error'] as const) {
      const response = await transport.fetch(`${server.origin}/start`, { method: 'POST', body: 'payload', redirect: mode });
      expect([response.status, response.headers.get('location'), response.redirected]).toEqual([307, `${target.origin}/end`, false]);
      expect(await response.text()).toBe('moved');
    }
    expect(server.requests).toHaveLength(3);
    expect(target.requests).toHaveLength(0);
  });
});

for (const transport of ['hardened', 'standard'] as const) {
  describe(`the vault fetch follows redirects (${transport} transport)`, () => {
    const fetchFor = (api: TestServer) => createVaultFetch(vault, { secret: 'api-key', origin: api.origin, transport });

    it('follows a same-origin redirect, keeping method, body and key (307)', async () => {
      const api = await serve((request, res) => (request.url === '/start' ? redirect(307, () => '/end')(request, res, undefined as never) : echo(request, res, undefined as never)));
      const vaultFetch = fetchFor(api);
      const response = await vaultFetch(`${api.origin}/start`, {
        method: 'POST', body: 'payload', headers: { authorization: `Bearer ${vaultFetch.placeholder}` },
      });
      const received = await json(response);
      expect(response.url).toBe(`${api.origin}/end`);
      expect([received.method, received.body, received.headers.authorization]).toEqual(['POST', 'payload', `Bearer ${key}`]);
      expect(api.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`]);
    });

    it('drops authorization, proxy-authorization, cookie, host and the placeholder on a hop to another origin', async () => {
      const elsewhere = await serve(echo);
      const api = await serve(redirect(307, () => `${elsewhere.origin}/away`));
      const vaultFetch = fetchFor(api);
      const apiHost = new URL(api.origin).host;
      const received = await json(await vaultFetch(`${api.origin}/start`, {
        headers: {
          authorization: `Bearer ${vaultFetch.placeholder}`, 'x-api-key': vaultFetch.placeholder,
          'proxy-authorization': 'Basic cHJveHk6c2VjcmV0', cookie: 'session=secret', host: apiHost, 'x-kept': 'yes',
        },
      }));
      // The API got everything, its own host included.
      const first = api.requests[0]!.headers;
      expect([first.authorization, first['x-api-key'], first.cookie, first.host]).toEqual([`Bearer ${key}`, key, 'session=secret', apiHost]);
      // The other origin: none of it, its own host, and the harmless header kept.
      expect(received.headers.authorization).toBeUndefined();
      expect(received.headers['x-api-key']).toBeUndefined();
      expect(received.headers['proxy-authorization']).toBeUndefined();
      expect(received.headers.cookie).toBeUndefined();
      expect(received.headers.host).toBe(new URL(elsewhere.origin).host);
      expect(received.headers['x-kept']).toBe('yes');
      expect(JSON.stringify(elsewhere.requests)).not.toContain(key);
      expect(JSON.stringify(elsewhere.requests)).not.toContain(vaultFetch.placeholder);
    });

    it('never carries the key across origins, nor back after leaving', async () => {
      const api = await serve((request, res) => redirect(302, () => (request.url === '/start' ? `${elsewhere.origin}/away` : '/never'))(request, res, undefined as never));
      const elsewhere = await serve(redirect(303, () => `${api.origin}/back`));
      const vaultFetch = fetchFor(api);
      const headers = { 'x-api-key': vaultFetch.placeholder, authorization: `Bearer ${vaultFetch.placeholder}` };
      const error = await vaultFetch(`${api.origin}/start`, { headers, redirect: 'follow' }).then((response) => response.text()).catch((e) => e);
      expect(error).toBeInstanceOf(TypeError); // /back → /never → … more than 20 redirects
      const away = elsewhere.requests[0]!;
      expect(away.headers.authorization).toBeUndefined();
      expect(away.headers['x-api-key']).toBeUndefined();
      const back = api.requests.slice(1);
      expect(back.length).toBeGreaterThan(1);
      for (const request of back) expect(JSON.stringify(request.headers)).not.toContain(key);
      expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${key}`);
    });

    it('turns POST into GET on 303, dropping the body and its headers', async () => {
      const api = await serve((request, res) => (request.url === '/form' ? redirect(303, () => '/result')(request, res, undefined as never) : echo(request, res, undefined as never)));
      const received = await json(await fetchFor(api)(`${api.origin}/form`, { method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
      expect([received.method, received.url, received.body, received.headers['content-type']]).toEqual(['GET', '/result', '', undefined]);
    });

    it('returns the redirect itself with redirect: "manual", and rejects with redirect: "error"', async () => {
      const api = await serve(redirect(301, () => '/elsewhere'));
      const vaultFetch = fetchFor(api);
      const response = await vaultFetch(api.origin, { redirect: 'manual' });
      expect([response.status, response.headers.get('location')]).toEqual([301, '/elsewhere']);
      await expect(vaultFetch(api.origin, { redirect: 'error' })).rejects.toBeInstanceOf(TypeError);
      expect(api.requests).toHaveLength(2);
    });
  });
}
