import { describe, expect, it } from 'vitest';
import { createVaultFetch, isPlaceholder } from '../../adapters/fetch.ts';
import { AccessDeniedError, UsageError } from '../../src/index.ts';
import { agentVault, agentWithKey } from './_fixtures.ts';
import { credentialOf, everything, PROVIDER_SERVER, providerHandler, redirectingTo } from './_servers.ts';
import { fakeKey, type Received, servePerTest, type TestServer } from '../_fixtures/index.ts';

const serve = servePerTest(echo, PROVIDER_SERVER);

function echo(_request: Received, res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
}

async function setup(handler = echo) {
  const key = fakeKey();
  const fixture = await agentVault({ 'api-key': key });
  const api = await serve(handler);
  const vaultFetch = createVaultFetch(fixture.vault, { secret: 'api-key', origin: `${api.origin}/v1` });
  return { ...fixture, key, api, vaultFetch, placeholder: vaultFetch.placeholder };
}

/** The three ways SDKs send a key. */
const styles = [
  { header: 'authorization', value: (p: string) => `Bearer ${p}` },
  { header: 'x-api-key', value: (p: string) => p },
  { header: 'api-key', value: (p: string) => p },
] as const;

describe('createVaultFetch', () => {
  it('makes a random placeholder of a fixed shape per fetch', async () => {
    const { vault } = await agentVault({});
    const a = createVaultFetch(vault, { secret: 's', origin: 'https://api.example.com' });
    const b = createVaultFetch(vault, { secret: 's', origin: 'https://api.example.com' });
    expect(a.placeholder).toMatch(/^agent-vault-placeholder-[0-9a-f]{32}$/);
    expect(a.placeholder).not.toBe(b.placeholder);
    expect(isPlaceholder(a.placeholder)).toBe(true);
    expect(isPlaceholder('sk-live')).toBe(false);
  });

  for (const style of styles) {
    it(`replaces the placeholder in ${style.header} with the key, resolving once`, async () => {
      const { vaultFetch, placeholder, api, key, resolutions } = await setup();
      const response = await vaultFetch(`${api.origin}/v1/x`, {
        method: 'POST', body: '{}', headers: { [style.header]: style.value(placeholder), 'x-other': 'kept' },
      });
      expect(await response.text()).toBe('ok');
      expect(api.requests[0]!.headers[style.header]).toBe(style.value(key));
      expect(api.requests[0]!.headers['x-other']).toBe('kept');
      expect(api.requests[0]!.body).toBe('{}');
      expect(resolutions).toHaveBeenCalledTimes(1);
    });

    it(`sends neither key nor placeholder (${style.header}) to another origin, without resolving`, async () => {
      const { vaultFetch, placeholder, key, resolutions } = await setup();
      const other = await serve();
      await vaultFetch(`${other.origin}/v1/x`, { headers: { [style.header]: style.value(placeholder), 'x-other': 'kept' } });
      expect(other.requests[0]!.headers[style.header]).toBeUndefined();
      expect(other.requests[0]!.headers['x-other']).toBe('kept');
      expect(everything(other)).not.toContain(key);
      expect(everything(other)).not.toContain(placeholder);
      expect(resolutions).not.toHaveBeenCalled();
    });

    it(`never follows a redirect to another origin with the key (${style.header})`, async () => {
      const elsewhere = await serve();
      const { vaultFetch, placeholder, api, key } = await setup(redirectingTo(() => elsewhere.origin, 307));
      const response = await vaultFetch(`${api.origin}/v1/x`, {
        method: 'POST', body: 'payload', headers: { [style.header]: style.value(placeholder) },
      });
      expect(response.status).toBe(200);
      expect(credentialOf(api.requests[0]!)).toBe(key);
      expect(elsewhere.requests).toHaveLength(1);
      expect(elsewhere.requests[0]!.body).toBe('payload'); // 307 keeps method and body
      expect(elsewhere.requests[0]!.headers[style.header]).toBeUndefined();
      expect(everything(elsewhere)).not.toContain(key);
      expect(everything(elsewhere)).not.toContain(placeholder);
    });
  }

  it('sets `header` (with its scheme) when no header carries the placeholder', async () => {
    const { vault, key } = await agentWithKey('api-key');
    const api = await serve();
    const bearer = createVaultFetch(vault, { secret: 'api-key', origin: api.origin, header: 'Authorization' });
    const token = createVaultFetch(vault, { secret: 'api-key', origin: api.origin, header: 'authorization', scheme: 'Token' });
    const plain = createVaultFetch(vault, { secret: 'api-key', origin: api.origin, header: 'x-goog-api-key' });
    await bearer(`${api.origin}/a`);
    await token(`${api.origin}/b`);
    await plain(`${api.origin}/c`);
    await plain(`${api.origin}/d`, { headers: { 'x-goog-api-key': 'the-callers-own' } });
    expect(api.requests.map((r) => r.headers['authorization'] ?? r.headers['x-goog-api-key'])).toEqual([
      `Bearer ${key}`, `Token ${key}`, key, 'the-callers-own',
    ]);
  });

  it('follows same-origin redirects with the key at each hop, and never brings it back after leaving', async () => {
    const { vault, key, resolutions } = await agentWithKey('api-key');
    const elsewhere = await serve(redirectingTo(() => api.origin, 302));
    const api: TestServer = await serve((request, res) => {
      if (request.url === '/hop') return redirectingTo(() => api.origin, 301)({ ...request, url: '/final' }, res);
      if (request.url === '/leave') return redirectingTo(() => elsewhere.origin, 302)({ ...request, url: '/back' }, res);
      echo(request, res);
    });
    const vaultFetch = createVaultFetch(vault, { secret: 'api-key', origin: api.origin });
    const headers = { authorization: `Bearer ${vaultFetch.placeholder}` };
    const hopped = await vaultFetch(`${api.origin}/hop`, { headers });
    expect(hopped.status).toBe(200);
    expect(api.requests.map((r) => [r.url, credentialOf(r)])).toEqual([['/hop', key], ['/final', key]]);
    expect(resolutions).toHaveBeenCalledTimes(1); // one resolution per attempt, however many hops

    api.requests.length = 0;
    await vaultFetch(`${api.origin}/leave`, { method: 'POST', body: 'x', headers });
    // api → elsewhere (302: POST becomes GET) → api again: the key does not come back.
    expect(api.requests.map((r) => [r.method, r.url, credentialOf(r)])).toEqual([['POST', '/leave', key], ['GET', '/back', undefined]]);
    expect(elsewhere.requests.map((r) => [r.method, r.body, credentialOf(r)])).toEqual([['GET', '', undefined]]);
  });

  it('honours redirect: "manual" and "error", and refuses to replay a streamed body', async () => {
    const elsewhere = await serve();
    const { vaultFetch, placeholder, api } = await setup(redirectingTo(() => elsewhere.origin, 307));
    const headers = { 'x-api-key': placeholder };
    const manual = await vaultFetch(`${api.origin}/m`, { headers, redirect: 'manual' });
    expect(manual.status).toBe(307);
    await expect(vaultFetch(`${api.origin}/e`, { headers, redirect: 'error' })).rejects.toThrow(TypeError);
    const body = new ReadableStream({ start: (c) => { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } });
    await expect(vaultFetch(`${api.origin}/s`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit))
      .rejects.toThrow(/streamed request body/);
    expect(api.requests).toHaveLength(3);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('accepts a Request', async () => {
    const { vaultFetch, placeholder, api, key } = await setup();
    await vaultFetch(new Request(`${api.origin}/v1/r`, { method: 'PUT', body: 'b', headers: { 'api-key': placeholder } }));
    expect(api.requests[0]).toMatchObject({ method: 'PUT', body: 'b', headers: { 'api-key': key } });
  });

  it("rejects with the vault's error, and sends nothing, when the vault refuses", async () => {
    const { vaultFetch, placeholder, api, owner } = await setup();
    await owner.revokeAgent('test-agent');
    const error = await vaultFetch(`${api.origin}/v1/x`, { headers: { authorization: `Bearer ${placeholder}` } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    expect(api.requests).toHaveLength(0);
  });

  it('given straight to an SDK, a refusal is retried as a connection error and arrives as its cause', async () => {
    // This is why the SDK adapters answer a refusal with a response instead (see openai.test.ts).
    const { vaultFetch, placeholder, api, owner, resolutions } = await setup();
    const { default: OpenAIBase, APIConnectionError } = await import('openai');
    const client = new OpenAIBase({ apiKey: placeholder, baseURL: `${api.origin}/v1`, fetch: vaultFetch, maxRetries: 1 });
    await owner.revokeAgent('test-agent');
    const error = await client.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as Error).cause).toBeInstanceOf(AccessDeniedError);
    expect(resolutions).toHaveBeenCalledTimes(2);
    expect(api.requests).toHaveLength(0);
  });

  it('trims a stored trailing newline, and refuses a value that is no header value without quoting it', async () => {
    const { vault } = await agentVault({ padded: 'sk-padded-key\n', broken: 'sk-broken\nkey-part' });
    const api = await serve();
    const padded = createVaultFetch(vault, { secret: 'padded', origin: api.origin, header: 'x-api-key' });
    await padded(`${api.origin}/p`);
    expect(api.requests[0]!.headers['x-api-key']).toBe('sk-padded-key');
    const broken = createVaultFetch(vault, { secret: 'broken', origin: api.origin, header: 'x-api-key' });
    const error = await broken(`${api.origin}/b`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(String((error as Error).message)).not.toContain('key-part');
    expect(api.requests).toHaveLength(1);
  });

  it('needs a vault, a secret and an http(s) origin', async () => {
    const { vault } = await agentVault({});
    expect(() => createVaultFetch(vault, { secret: 's' } as never)).toThrow(UsageError);
    expect(() => createVaultFetch(vault, { secret: 's', origin: 'file:///etc' })).toThrow(/http\(s\)/);
    expect(() => createVaultFetch(vault, { origin: 'https://a.example' } as never)).toThrow(/secret/);
    expect(() => createVaultFetch(undefined as never, { secret: 's', origin: 'https://a.example' })).toThrow(/vault/);
  });

  it('wraps the given fetch, and works with a provider-shaped stream', async () => {
    const { vault, key } = await agentWithKey('api-key');
    const api = await serve(providerHandler());
    const calls: string[] = [];
    const vaultFetch = createVaultFetch(vault, {
      secret: 'api-key', origin: api.origin, fetch: (input, init) => { calls.push(String(input)); return fetch(input, init); },
    });
    const response = await vaultFetch(`${api.origin}/v1/messages`, {
      method: 'POST', body: JSON.stringify({ stream: true }), headers: { 'x-api-key': vaultFetch.placeholder },
    });
    expect(await response.text()).toContain('event: message_stop');
    expect(calls).toEqual([`${api.origin}/v1/messages`]);
    expect(credentialOf(api.requests[0]!)).toBe(key);
  });
});
