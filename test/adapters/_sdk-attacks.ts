/**
 * What an independent checker tries against every SDK adapter, on the matrix's own servers (one
 * pair per file): each attack is performed, and the test asserts on what the servers received
 * and on what reached the caller.
 *
 * - redirects of every status (301, 302, 303, 307, 308) to another port, and to the same
 *   server under another host name (`localhost` for `127.0.0.1`: another origin);
 * - a server that echoes the key in a header, the status text and a JSON error body (raw and
 *   `\u`-escaped), then in an error event of a 200 event stream;
 * - the SDKs' key and base-URL environment variables set to a canary and to another origin;
 * - a refusal in the middle of the SDK's retry loop (a 500, then the agent is revoked);
 * - `inspect`, `JSON.stringify` and `structuredClone` of the client;
 * - a per-request option that sends the request to another origin, where the SDK has one.
 */
import { inspect } from 'node:util';
import { expect, it } from 'vitest';
import { AccessDeniedError, type Vault } from '../../src/index.ts';
import { fakeKey, type Received, type TestServer } from '../_fixtures/index.ts';
import type { AgentFixture } from './_fixtures.ts';
import { type Handler } from './_servers.ts';

export interface AttackContext<C> {
  api(): TestServer;
  elsewhere(): TestServer;
  /** Answer the API's next requests with `handler`. */
  answer(handler: Handler): void;
  setup(): Promise<AgentFixture & { key: string; client: C }>;
  /** A client built afresh (inside an environment an attack set). */
  client(binding: { vault: Vault; secret: string }): C | Promise<C>;
  call(client: C): Promise<string>;
  stream(client: C): Promise<string>;
  /** The VaultError, from what a refusal after a failed attempt surfaces as. */
  refusal(error: unknown): unknown;
  keyHeader: string;
  /** A call the SDK sends to `url` (another origin) through a per-request option, where it has one. */
  foreignCall?: (client: C, url: string) => Promise<unknown>;
}

const PLACEHOLDER = 'agent-vault-placeholder-';

/** Every way an error or a result is commonly looked at: message, inspect (hidden fields too), JSON. */
export function renderings(value: unknown): string {
  let json = '';
  try {
    json = JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { ...v, message: v.message, stack: v.stack } : v)) ?? '';
  } catch {
    // Circular: inspect covers it.
  }
  const message = value instanceof Error ? `${value.message} ${String(value.stack)}` : String(value);
  return `${message}\n${inspect(value, { depth: 12, showHidden: true, getters: true })}\n${json}`;
}

/** Every form of `key` a reader could decode: raw, and each character `\u`-escaped. */
export function forms(key: string): string[] {
  return [key, jsonEscaped(key), jsonEscaped(key).toUpperCase().replaceAll('\\U', '\\u')];
}

function jsonEscaped(key: string): string {
  return [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
}

/** The key the request carried in `header`, from the request itself (what an echoing server knows). */
function carried(request: Received, header: string): string {
  const value = request.headers[header];
  const text = (Array.isArray(value) ? value[0] : value) ?? '';
  return header === 'authorization' ? text.replace(/^Bearer /, '') : text;
}

const CANARY_KEY_VARS = [
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'GROQ_API_KEY', 'MISTRAL_API_KEY', 'GOOGLE_API_KEY',
  'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY',
];
const BASE_URL_VARS = ['OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_API_URL', 'GROQ_BASE_URL', 'GOOGLE_GEMINI_BASE_URL'];

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

export function sdkAttacks<C>(t: AttackContext<C>): void {
  const outcome = (promise: Promise<unknown>) => promise.then((value) => value, (error: unknown) => error);

  it('attack: no redirect (301, 302, 303, 307, 308; another port, or localhost for 127.0.0.1) carries the key or the placeholder', async () => {
    const { client, key } = await t.setup();
    const api = t.api();
    const sameServerOtherName = api.origin.replace('127.0.0.1', 'localhost');
    for (const target of [t.elsewhere().origin, sameServerOtherName]) {
      for (const status of [301, 302, 303, 307, 308]) {
        let first = true;
        t.answer((request, res) => {
          if (!first) return res.writeHead(404).end();
          first = false;
          res.writeHead(status, { location: target + request.url }).end();
        });
        api.requests.length = 0;
        await outcome(t.call(client));
        expect(carried(api.requests[0]!, t.keyHeader), `${status} → ${target}`).toBe(key);
        const onward = JSON.stringify([...api.requests.slice(1), ...t.elsewhere().requests]);
        expect(onward, `${status} → ${target}`).not.toContain(key);
        expect(onward, `${status} → ${target}`).not.toContain(PLACEHOLDER);
      }
    }
    expect(t.elsewhere().requests.length + api.requests.length).toBeGreaterThan(1);
  });

  it('attack: a key echoed in a header, the status text and a JSON error body (raw or \\u-escaped) does not reach the caller', async () => {
    const { client, key } = await t.setup();
    t.answer((request, res) => {
      const echoed = carried(request, t.keyHeader);
      const escaped = jsonEscaped(echoed);
      const body = `{"error":{"type":"invalid_request_error","code":"invalid_api_key","status":"UNAUTHENTICATED",` +
        `"message":"Incorrect API key: ${escaped} (raw ${echoed})"},"type":"error","detail":"${escaped}"}`;
      res.writeHead(401, `Bad key ${echoed}`, { 'content-type': 'application/json', 'x-echo': echoed, 'www-authenticate': `Bearer ${echoed}` });
      res.end(body);
    });
    const error = await outcome(t.call(client));
    expect(error).toBeInstanceOf(Error);
    const seen = renderings(error);
    for (const form of forms(key)) expect(seen).not.toContain(form);
  });

  it('attack: a key echoed in an error event of a 200 event stream does not reach the caller', async () => {
    const { client, key } = await t.setup();
    t.answer((request, res) => {
      const message = JSON.stringify(`Incorrect API key provided: ${carried(request, t.keyHeader)}`);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: error\ndata: {"type":"error","error":{"type":"invalid_request_error","code":400,"message":${message}}}\n\n`);
    });
    const result = await outcome(t.stream(client));
    for (const form of forms(key)) expect(renderings(result)).not.toContain(form);
  });

  it('attack: key and base-URL variables set to a canary and another origin are neither sent nor followed', async () => {
    const canary = fakeKey('sk-canary');
    const env: Record<string, string> = Object.fromEntries(CANARY_KEY_VARS.map((name) => [name, canary]));
    for (const name of BASE_URL_VARS) env[name] = `${t.elsewhere().origin}/v1`;
    const fixture = await t.setup();
    const text = await withEnv(env, async () => {
      const client = await t.client({ vault: fixture.vault, secret: 'provider-api-key' });
      return [await t.call(client), await t.stream(client)];
    });
    expect(text).toHaveLength(2);
    expect(t.elsewhere().requests).toHaveLength(0);
    expect(JSON.stringify(t.api().requests)).not.toContain(canary);
    expect(t.api().requests.map((r) => carried(r, t.keyHeader))).toEqual([fixture.key, fixture.key]);
  });

  it('attack: a refusal inside the retry loop (a 500, then the agent is revoked) rejects with the VaultError, unretried', async () => {
    const { client, owner, resolutions } = await t.setup();
    let revoked: Promise<void> | undefined;
    t.answer((_request, res) => {
      revoked ??= owner.revokeAgent('test-agent');
      void revoked.then(() => {
        res.writeHead(500, { 'content-type': 'application/json', 'retry-after-ms': '1', 'retry-after': '0' });
        res.end('{"error":{"message":"try again","type":"server_error"}}');
      });
    });
    const error = t.refusal(await outcome(t.call(client)));
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'revoked' });
    expect(t.api().requests).toHaveLength(1);
    expect(resolutions).toHaveBeenCalledTimes(2);
  });

  it('attack: inspect, JSON.stringify and structuredClone of the client hold no key', async () => {
    const { client, key } = await t.setup();
    await t.call(client);
    let cloned: unknown;
    try {
      cloned = structuredClone(client);
    } catch (error) {
      cloned = error;
    }
    expect(renderings(client)).not.toContain(key);
    expect(renderings(cloned)).not.toContain(key);
  });

  if (t.foreignCall) {
    const foreignCall = t.foreignCall;
    it('attack: a per-request option that sends the request to another origin carries neither key nor placeholder', async () => {
      const { client, key } = await t.setup();
      await outcome(foreignCall(client, `${t.elsewhere().origin}/v1`));
      expect(t.elsewhere().requests.length).toBeGreaterThanOrEqual(1);
      const received = JSON.stringify(t.elsewhere().requests);
      expect(received).not.toContain(key);
      expect(received).not.toContain(PLACEHOLDER);
    });
  }
}
