/**
 * One request through the broker: pick the route by path prefix, authenticate the phantom key,
 * resolve the route's secret from the vault for this request alone (checked and audited by the
 * vault), send it upstream with the hardened transport (the key is written at the socket, never
 * a JS string), redact echoes of it, and stream both bodies through without buffering. One
 * `broker.request` audit record per request says how it ended. Nothing here throws into Node:
 * every failure becomes an answer or a closed connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { armRequest, type ArmedRequest, type IncomingAnswer } from '../../adapters/transport/index.ts';
import { isVaultError } from '../errors.ts';
import type { Vault } from '../vault.ts';
import { PHANTOM_PREFIX, type PhantomKeys, type PhantomKeyInfo } from './phantom.ts';
import { writeAnswer } from './_answer.ts';
import { forwardHeaders } from './_headers.ts';
import { type RefusalKind, sendRefusal } from './_refusal.ts';
import { CREDENTIAL_HEADERS, type Route } from './routes.ts';

export interface BrokerLimits {
  /** Largest request body accepted, in bytes. Default 32 MiB (image and file inputs). */
  maxBodyBytes: number;
  /** How long the provider may take to send its response headers, in ms. Default 600 000 (10 min, the SDKs' own default). */
  upstreamTimeoutMs: number;
}

export interface ProxyContext {
  vault: Pick<Vault, '_prepare' | '_auditBroker'>;
  routes: ReadonlyMap<string, Route>;
  keys: PhantomKeys;
  limits: BrokerLimits;
  /** Where audit-write failures and unexpected errors go (never with a value in them). */
  onError(error: unknown): void;
}

const MAX_AUDITED_PATH = 256;
const SMALL_BODY = 64 * 1024;

export async function handleRequest(context: ProxyContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const url = req.url ?? '';
  const method = req.method ?? 'GET';
  const path = url.split('?')[0]!.slice(0, MAX_AUDITED_PATH);
  const slash = path.indexOf('/', 1);
  const route = url.startsWith('/') ? context.routes.get(path.slice(1, slash === -1 ? undefined : slash)) : undefined;
  const audit = (outcome: 'ok' | 'denied' | 'error', status: number, key?: PhantomKeyInfo, reason?: string) => {
    const ms = (performance.now() - started).toFixed(1);
    const note = `key=${key?.name ?? '-'} route=${route?.name ?? '-'} ${method} ${path} status=${status} ms=${ms}`;
    context.vault._auditBroker({ action: 'broker.request', outcome, note, ...(route ? { name: route.secret } : {}), ...(reason ? { reason } : {}) })
      .catch(context.onError);
  };
  const refuse = (kind: RefusalKind, code: string, message: string, key?: PhantomKeyInfo) => {
    req.resume(); // drain what the client sends, so the answer is read
    audit(kind === 'upstream' ? 'error' : 'denied', sendRefusal(res, route?.errorShape ?? 'openai', kind, code, message), key, code);
  };

  if (!route) {
    return refuse('not-found', 'unknown-route',
      `no route for this path. Paths start with a route name: ${[...context.routes.keys()].map((name) => `/${name}/`).join(', ')}.`);
  }
  // The path is appended to the route's upstream, so it cannot name another origin; and a dot
  // segment (in any spelling: `..`, `%2e%2e`, backslashes) could climb out of the upstream's base
  // path to another tenant of a shared gateway, so none is accepted. Checked before the key.
  const rest = url.slice(1 + route.name.length);
  const target = URL.parse(route.upstream + rest);
  const base = upstreamOf(route);
  if (target?.origin !== base.origin || DOT_SEGMENT.test(rest.split('?')[0]!) || !withinBase(target.pathname, base.path)) {
    return refuse('bad-request', 'bad-path', 'the request path is not a valid path below the route (no "..", "." or "\\" segments).');
  }
  const fromQuery = queryKey(target);
  const fromHeader = presentedKey(req);
  const check = context.keys.check(fromHeader?.startsWith(PHANTOM_PREFIX) ? fromHeader : fromQuery ?? fromHeader, route.name);
  if (!check.ok) {
    const messages = {
      'no-phantom-key': 'no phantom key in the request. Run the client under `agent-vault exec`, or give it a key from `agent-vault broker key create`.',
      'bad-phantom-key': 'this is not a live phantom key of this broker. Use the key `agent-vault exec` or `broker key create` gave you.',
      'expired-phantom-key': 'this phantom key has expired. Ask the owner for a new one (`agent-vault broker key create`).',
      'wrong-route': `this phantom key is for another route, not "${route.name}".`,
    } as const;
    return refuse(check.reason === 'wrong-route' ? 'permission' : 'authentication', check.reason, messages[check.reason], check.info);
  }
  const key = check.info;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!(declared <= context.limits.maxBodyBytes)) {
    return refuse('too-large', 'body-too-large', `the request body is larger than the broker's limit of ${context.limits.maxBodyBytes} bytes.`, key);
  }

  let armed: ArmedRequest | undefined;
  try {
    armed = await armRequest(context.vault, route.secret, target.origin, 'hardened');
  } catch (error) {
    if (!isVaultError(error)) context.onError(error);
    const code = isVaultError(error) ? error.code : 'UNEXPECTED';
    const message = isVaultError(error) ? error.message : 'the key could not be resolved.';
    return refuse('permission', `vault-${code.toLowerCase()}`, `the vault refused the key for "${route.name}": ${message}`, key);
  }

  // What stops the upstream exchange (the provider too slow to answer, the client gone): a flag
  // until it has started, then its own cancel. `close` comes after every answer; only one cut
  // short stops it (an Error built per request costs its stack trace).
  let stopped: Error | undefined;
  let cancel = (reason: Error) => void (stopped ??= reason);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    cancel(new Error('upstream timeout'));
  }, context.limits.upstreamTimeoutMs);
  res.once('close', () => {
    if (!res.writableFinished) cancel(new Error('client closed'));
  });
  let answer: IncomingAnswer | Response;
  let tooLarge = false;
  try {
    const headers = forwardHeaders(req);
    headers[route.header] = route.scheme ? `${route.scheme} ${armed!.placeholder}` : armed!.placeholder;
    const hasBody = method !== 'GET' && method !== 'HEAD';
    // A small body of declared length (a prompt: a packet or two) is read whole, which spares the
    // stream machinery on every call; anything larger or chunked streams through as it comes.
    const small = hasBody && req.headers['content-length'] !== undefined && declared <= SMALL_BODY;
    const body = !hasBody ? null
      : small ? await readWhole(req)
      : req.pipe(limitBody(context.limits.maxBodyBytes, () => (tooLarge = true)));
    if (stopped) throw stopped;
    // The node:http path of the hardened transport: the hop is built here once, the key goes in
    // over the placeholder named, and the answer comes as node:http received it, its echoes of the
    // key redacted (a body that must be searched comes as a web Response), for writing straight on.
    const exchange = armed!.sendNode({ url: target, method, headers, body });
    cancel = (reason) => {
      stopped ??= reason;
      exchange.cancel(reason);
    };
    answer = await exchange.answer;
  } catch (error) {
    if (tooLarge) return refuse('too-large', 'body-too-large', `the request body is larger than the broker's limit of ${context.limits.maxBodyBytes} bytes.`, key);
    if (res.destroyed) return audit('error', 499, key, 'client-closed');
    return refuse('upstream', timedOut ? 'upstream-timeout' : 'upstream-unreachable',
      timedOut ? `the provider sent no answer within ${context.limits.upstreamTimeoutMs} ms.` : `the provider at ${target.origin} could not be reached.`, key);
  } finally {
    clearTimeout(timer);
    armed!.release();
  }

  try {
    await writeAnswer(answer, res, (location) => clientLocation(location, route, target));
    audit('ok', answer.status, key);
  } catch {
    res.destroy();
    audit('error', answer.status, key, 'stream-broken');
  }
}

/** The phantom key from whichever header the SDK puts its key in. */
function presentedKey(req: IncomingMessage): string | undefined {
  let first: string | undefined;
  for (const name of CREDENTIAL_HEADERS) {
    const raw = req.headers[name];
    if (typeof raw !== 'string') continue;
    const value = name === 'authorization' ? raw.replace(/^Bearer\s+/i, '') : raw;
    if (value.startsWith('avp_')) return value.trim();
    first ??= value;
  }
  return first;
}

/** A `.` or `..` path segment, however spelled (URL parsing treats `%2e` as `.` and `\\` as `/`). */
const DOT_SEGMENT = /(^|[/\\])(\.|%2e){1,2}([/\\]|$)|\\/i;

const upstreams = new WeakMap<Route, { origin: string; path: string }>();

/** The route's upstream origin and base path (no trailing slash), parsed once per route. */
function upstreamOf(route: Route): { origin: string; path: string } {
  let parsed = upstreams.get(route);
  if (!parsed) {
    const url = new URL(route.upstream);
    parsed = { origin: url.origin, path: url.pathname.replace(/\/$/, '') };
    upstreams.set(route, parsed);
  }
  return parsed;
}

function withinBase(pathname: string, basePath: string): boolean {
  return basePath === '' || pathname === basePath || pathname.startsWith(`${basePath}/`);
}

/**
 * A phantom key in the query (`?key=`, as Google's REST clients send theirs): taken, and removed
 * from the URL forwarded, so the provider never sees a phantom key. Other `key` values pass.
 */
function queryKey(target: URL): string | undefined {
  // Most requests have no query: spared building its URLSearchParams.
  if (!target.search.includes('key=')) return undefined;
  const value = target.searchParams.get('key');
  if (value === null || !value.startsWith(PHANTOM_PREFIX)) return undefined;
  target.searchParams.delete('key');
  return value;
}

/**
 * Where a redirect's `location` sends the client: one back into the upstream is rewritten to the
 * broker's route, so the client follows it through the broker (the key is never sent there by
 * us: redirects are handed back, not followed); any other is passed on as it is.
 */
function clientLocation(location: string, route: Route, target: URL): string {
  const next = URL.parse(location, target.href);
  const base = upstreamOf(route);
  if (next === null || next.origin !== base.origin || !withinBase(next.pathname, base.path)) return location;
  return `/${route.name}${next.pathname.slice(base.path.length)}${next.search}`;
}

/**
 * The whole body of a request whose declared length is small (checked against the limit before),
 * by events: an async iterator over `req` costs more than the read itself at this size. A body
 * in one packet is handed on as the Buffer it arrived in.
 */
function readWhole(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Gone while the key was being resolved: no event will come (an async iterator checks this too).
    if (req.destroyed) return reject(new Error('the request body ended early'));
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onEnd = () => {
      req.off('close', onClose).off('error', onClose);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    // Closed before its end (the client went away mid-body), with an error or without.
    const onClose = () => {
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      reject(new Error('the request body ended early'));
    };
    req.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}

/** Pass bytes through until `max`, then fail the stream (which aborts the upstream request). */
function limitBody(max: number, onTooLarge: () => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) {
        onTooLarge();
        callback(new Error('request body too large'));
      } else callback(null, chunk);
    },
  });
}
