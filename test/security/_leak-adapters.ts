/**
 * The leak canary's adapter matrix: every client we ship (and the oldest SDK majors we claim,
 * through `withVault`), and every way a request can go wrong on the wire.
 */
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { expect } from 'vitest';
import AnthropicV0 from 'anthropic-v0';
import OpenAIV4 from 'openai-v4';
import { Anthropic, withVault as anthropicWithVault } from '../../adapters/anthropic.ts';
import { createVaultFetch, type FetchLike, vaultErrorOf } from '../../adapters/fetch.ts';
import { AzureOpenAI, OpenAI, withVault as openaiWithVault } from '../../adapters/openai.ts';
import type { Vault } from '../../src/index.ts';
import { credentialOf, type Handler, PROVIDER_SERVER, providerHandler } from '../adapters/_servers.ts';
import { type Received, startServer, type TestServer } from '../_fixtures/index.ts';
import { captureLogger, capturing } from './_leak-capture.ts';
import { AGENT_ID, canaryVault, isZero, NAME, VALUE, watchBuffers } from './_leak-fixture.ts';
import { expectClean, Observed } from './_leak-observed.ts';
import { describeFindings, LeakScanner } from './_leak-scan.ts';

export type Transport = 'hardened' | 'standard';
export const TRANSPORTS: readonly Transport[] = ['hardened', 'standard'];

export interface ClientSetup {
  vault: Vault;
  /** The API's origin (the loopback server, or a closed port). */
  origin: string;
  /** `'hardened'`: the key written at the socket (the default on Node); `'standard'`: into a header, sent by `fetch`. */
  transport: Transport;
  /** The user's own fetch (only with the standard transport: a custom fetch rules the hardened one out). */
  fetch?: FetchLike;
  timeout: number;
  maxRetries: number;
  /** An SDK logger for `logLevel: 'debug'`; undefined leaves logging to the environment. */
  logger?: Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void>;
}

export interface CallOptions {
  stream: boolean;
  signal: AbortSignal;
}

export interface Flavor {
  name: string;
  /** Whether the SDK takes `logLevel` and `logger` options (else its logging is environment-only). */
  takesLogger: boolean;
  /** False where the SDK itself asks for `redirect: 'manual'` (Azure): a redirect then ends the call. */
  followsRedirects: boolean;
  make(setup: ClientSetup): unknown;
  /** One API call (a stream is read to its end); resolves with what the user gets. */
  call(client: unknown, options: CallOptions): Promise<unknown>;
}

const messages = [{ role: 'user' as const, content: 'hi' }];
const logging = (setup: ClientSetup) => (setup.logger ? { logLevel: 'debug' as const, logger: setup.logger } : {});
/** The SDK options every flavor passes: the user's fetch if any, timeout and retries. */
const common = (s: ClientSetup) => ({ ...(s.fetch ? { fetch: s.fetch } : {}), timeout: s.timeout, maxRetries: s.maxRetries });

async function drain(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const events: unknown[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

type ChatClient = { chat: { completions: { create(body: object, options: object): Promise<unknown> } } };
type MessagesClient = { messages: { create(body: object, options: object): Promise<unknown> } };

const chat = async (client: unknown, { stream, signal }: CallOptions) => {
  const result = await (client as ChatClient).chat.completions.create({ model: 'gpt-test', messages, stream }, { signal });
  return stream ? drain(result as AsyncIterable<unknown>) : result;
};

const claude = async (client: unknown, { stream, signal }: CallOptions) => {
  const result = await (client as MessagesClient).messages.create({ model: 'claude-test', max_tokens: 16, messages, stream }, { signal });
  return stream ? drain(result as AsyncIterable<unknown>) : result;
};

export const FLAVORS: Flavor[] = [
  {
    name: 'OpenAI (openai 7)',
    takesLogger: true,
    followsRedirects: true,
    make: (s) => new OpenAI({ vault: s.vault, secret: NAME, transport: s.transport, baseURL: `${s.origin}/v1`, ...common(s), ...logging(s) }),
    call: chat,
  },
  {
    name: 'AzureOpenAI (openai 7)',
    takesLogger: true,
    followsRedirects: false,
    make: (s) => new AzureOpenAI({
      vault: s.vault, secret: NAME, transport: s.transport, endpoint: s.origin, apiVersion: '2024-10-21', deployment: 'dep',
      ...common(s), ...logging(s),
    }),
    call: chat,
  },
  {
    name: 'Anthropic (@anthropic-ai/sdk 1)',
    takesLogger: true,
    followsRedirects: true,
    make: (s) => new Anthropic({ vault: s.vault, secret: NAME, transport: s.transport, baseURL: s.origin, ...common(s), ...logging(s) }),
    call: claude,
  },
  {
    name: 'withVault on @anthropic-ai/sdk 0.x',
    takesLogger: true,
    followsRedirects: true,
    make: (s) => new AnthropicV0(anthropicWithVault(
      { baseURL: s.origin, ...common(s), ...logging(s) } as never,
      { vault: s.vault, secret: NAME, transport: s.transport },
    ) as never),
    call: claude,
  },
  {
    name: 'withVault on openai 4',
    takesLogger: false,
    followsRedirects: true,
    make: (s) => new OpenAIV4(openaiWithVault(
      { baseURL: `${s.origin}/v1`, ...common(s) } as never,
      { vault: s.vault, secret: NAME, transport: s.transport },
    ) as never),
    call: chat,
  },
  {
    name: 'createVaultFetch',
    takesLogger: false,
    followsRedirects: true,
    make: (s) => Object.assign(
      createVaultFetch(s.vault, { secret: NAME, origin: s.origin, header: 'authorization', transport: s.transport, ...(s.fetch ? { fetch: s.fetch } : {}) }),
      { origin: s.origin, timeout: s.timeout },
    ),
    call: async (client, { stream, signal }) => {
      const { origin, timeout } = client as { origin: string; timeout: number };
      const response = await (client as FetchLike)(`${origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages, stream }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
      });
      // What a caller does with a stream: read it to the end (the body itself is the server's);
      // and with an error: show its body.
      if (stream) await response.arrayBuffer();
      else if (!response.ok) console.error(`API error ${response.status}: ${await response.clone().text()}`);
      return response;
    },
  },
];

export interface Scenario {
  name: string;
  /** How the API origin answers; undefined: nothing listens there (connection refused). */
  handler?: (context: ScenarioContext) => Handler;
  stream?: boolean;
  /** The call must succeed (else it must fail; a bare fetch may also resolve with an error status). */
  succeeds?: boolean;
  /** The origin must have received the key (proof that the key was in flight). */
  keySent: boolean;
  /** The key is resolved (a SecretBuffer is handed out) for this call. */
  resolved: boolean;
  timeout?: number;
  maxRetries?: number;
  /** The user's own fetch throws instead of sending. */
  userFetchThrows?: boolean;
  /** The agent is revoked before the call. */
  revoked?: boolean;
}

export interface ScenarioContext {
  /** The server a redirect points at. */
  elsewhere: () => string;
  /** Aborts the call in flight. */
  abort: () => void;
}

/** A provider's error body that quotes the credential it got, and every header. */
function echoBody(request: Received): string {
  const message = `Incorrect API key provided: ${credentialOf(request)}. You sent: ${JSON.stringify(request.headers)}`;
  return JSON.stringify({ type: 'error', error: { type: 'authentication_error', code: 'invalid_api_key', message } });
}

const echoing = (status: number): Handler => (request, res) => {
  res.writeHead(status, { 'content-type': 'application/json', 'retry-after-ms': '1' });
  res.end(echoBody(request));
};

const hangUp = (res: ServerResponse) => res.socket?.destroy();

export const SCENARIOS: Scenario[] = [
  { name: 'a successful call', handler: () => providerHandler(), succeeds: true, keySent: true, resolved: true },
  { name: 'a successful stream', handler: () => providerHandler(), stream: true, succeeds: true, keySent: true, resolved: true },
  { name: 'a 401 that echoes the key in its body', handler: () => echoing(401), keySent: true, resolved: true },
  { name: 'a 500 that echoes the key in its body, retried', handler: () => echoing(500), maxRetries: 1, keySent: true, resolved: true },
  {
    name: 'a 401 that echoes the key in its headers',
    handler: () => (request, res) => {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer error="invalid_token", token="${credentialOf(request)}"`,
        'x-echo-credential': String(credentialOf(request)),
      });
      res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'Invalid API key.' } }));
    },
    keySent: true,
    resolved: true,
  },
  { name: 'the server closes the connection', handler: () => (_, res) => hangUp(res), maxRetries: 1, keySent: true, resolved: true },
  { name: 'connection refused', keySent: false, resolved: true },
  // Long enough for the request to arrive on a loaded machine.
  { name: 'a timeout', handler: () => () => undefined, timeout: 1_500, keySent: true, resolved: true },
  { name: 'an abort', handler: ({ abort }) => () => abort(), keySent: true, resolved: true },
  {
    name: 'a stream cut off midway',
    handler: () => (_, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":1,"output_tokens":0}}}\n\n');
      res.write('data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"par');
      setTimeout(() => hangUp(res), 20);
    },
    stream: true,
    keySent: true,
    resolved: true,
  },
  {
    name: 'a redirect to another origin that echoes what it got',
    handler: ({ elsewhere }) => (request, res) => {
      res.writeHead(307, { location: elsewhere() + request.url });
      res.end();
    },
    keySent: true,
    resolved: true,
  },
  { name: "the user's fetch throws", handler: () => providerHandler(), userFetchThrows: true, keySent: false, resolved: true },
  { name: 'the vault refuses (agent revoked)', handler: () => providerHandler(), revoked: true, keySent: false, resolved: false },
];

/** The foreign server of the redirect scenario: echoes whatever it received. */
export const echoEverything: Handler = echoing(401);

/** An origin where nothing listens. */
export async function closedOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/**
 * KNOWN LEAKS: found by this suite, not fixed yet. While an entry matches, its test asserts that
 * the leak is still there (and nowhere but in the call's result or error and in what was logged),
 * so a fix makes it fail: then delete the entry, and the test checks that nothing leaks.
 *
 * None at present. The last two (an error body, and response headers, that echo the key reaching
 * the SDK's error, its debug log and the Response) were fixed by redacting the API origin's
 * responses before they are handed back (adapters/transport/_redact.ts).
 */
export const KNOWN_LEAKS: { flavors: RegExp; scenarios: RegExp; what: string }[] = [];

export function knownLeak(flavor: Flavor, scenario: Scenario): string | undefined {
  return KNOWN_LEAKS.find((leak) => leak.flavors.test(flavor.name) && leak.scenarios.test(scenario.name))?.what;
}

/** Every SDK's debug logging, switched on through the environment too. */
export const DEBUG_ENV = { OPENAI_LOG: 'debug', ANTHROPIC_LOG: 'debug', DEBUG: 'true' };

/**
 * One client, one failure: run the call twice (debug logging from the environment to the
 * console, then `logLevel: 'debug'` with our logger, where the SDK takes one) and search every
 * line printed or logged, the result or error, and the client itself.
 */
export async function runScenario(flavor: Flavor, transport: Transport, scenario: Scenario): Promise<void> {
  const { owner, agent, token } = await canaryVault();
  const seen = new Observed();
  const handouts = watchBuffers(agent, (handout) => seen.keep('the decrypted secret during the request', handout));
  const servers: TestServer[] = [];
  let controller = new AbortController();
  const results: unknown[] = [];
  try {
    const elsewhere = await startServer(echoEverything, PROVIDER_SERVER);
    servers.push(elsewhere);
    const api = scenario.handler &&
      await startServer(scenario.handler({ elsewhere: () => elsewhere.origin, abort: () => controller.abort() }), PROVIDER_SERVER);
    if (api) servers.push(api);
    if (scenario.revoked) await owner.revokeAgent(AGENT_ID);
    const userFetch: FetchLike = scenario.userFetchThrows
      ? () => Promise.reject(new TypeError('the user transport failed'))
      : (input, init) => fetch(input, init);
    const setup = {
      vault: agent,
      origin: api?.origin ?? await closedOrigin(),
      transport,
      ...(transport === 'standard' ? { fetch: userFetch } : {}),
      timeout: scenario.timeout ?? 10_000,
      maxRetries: scenario.maxRetries ?? 0,
    };
    const loggers = flavor.takesLogger ? [undefined, captureLogger(seen.lines)] : [undefined];
    await capturing(seen.lines, DEBUG_ENV, async () => {
      for (const logger of loggers) {
        controller = new AbortController();
        const client = flavor.make({ ...setup, logger });
        const via = logger ? 'logger' : 'env';
        results.push(await seen.outcome(`result (${via})`, () => flavor.call(client, { stream: scenario.stream ?? false, signal: controller.signal })));
        seen.keep(`client (${via})`, client);
      }
    });

    // The scenario happened as described (each check here is a positive control).
    for (const result of results) {
      if (scenario.succeeds) expect(result, String(result)).not.toBeInstanceOf(Error);
      else if (flavor.name !== 'createVaultFetch') expect(result).toBeInstanceOf(Error);
      else expect(result instanceof Error || (result as Response).ok === false, String(result)).toBe(true);
    }
    // createVaultFetch answers a refusal with a final 403 whose VaultError vaultErrorOf() returns.
    const refusalOf = (result: unknown) => (result instanceof Response ? vaultErrorOf(result) : result);
    if (scenario.revoked) for (const result of results) expect(refusalOf(result)).toMatchObject({ code: 'ACCESS_DENIED' });
    const keyArrived = (api?.requests ?? []).filter((request) => credentialOf(request) === VALUE).length;
    if (scenario.keySent) expect(keyArrived).toBeGreaterThanOrEqual(results.length);
    else expect(keyArrived).toBe(0);
    if (scenario.name.includes('redirect')) expect(elsewhere.requests.length).toBe(flavor.followsRedirects ? results.length : 0);
    if (scenario.resolved) expect(handouts.resolutions).toBeGreaterThanOrEqual(results.length);
    if (scenario.keySent) expect(handouts.bytes.length).toBeGreaterThanOrEqual(results.length);
    if (!scenario.resolved) expect(handouts.bytes).toEqual([]);
    if (flavor.takesLogger) expect(seen.lines.some((line) => line.startsWith('logger.debug'))).toBe(true);
    if (flavor.name !== 'createVaultFetch') expect(seen.lines.some((line) => line.startsWith('console.'))).toBe(true);

    // What the key's bytes became (zeroed, once the socket had them), what another origin
    // received, and what the user saw.
    await new Promise((resolve) => setImmediate(resolve));
    for (const bytes of handouts.bytes) expect(isZero(bytes)).toBe(true);
    const credentials = new LeakScanner({ value: VALUE, token });
    expectClean(credentials.scan('requests received by the other origin', JSON.stringify(elsewhere.requests)));
    const findings = seen.findings(credentials);
    const known = knownLeak(flavor, scenario);
    if (!known) return expectClean(findings);
    expect(findings, `no longer leaks (${known}): delete its KNOWN_LEAKS entry`).not.toEqual([]);
    // Only in what the call returned or threw, and in what was logged of it.
    expect(findings.filter((f) => !/^(result|printed line)/.test(f.where)), describeFindings(findings)).toEqual([]);
    expect(findings.every((f) => f.secret === 'value')).toBe(true);
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
}
