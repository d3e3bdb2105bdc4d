/**
 * The one redirect policy. The vault fetch follows redirects by hand, so that each hop is checked
 * before the key goes out; the transports under it (the hardened one, or `fetch` with
 * `redirect: 'manual'`) send exactly one hop. Method, body and header rules are the fetch
 * standard's, as Node's fetch (undici) applies them.
 */
import { UsageError } from '../../src/errors.ts';
import { replayable } from './_request.ts';

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
export const MAX_REDIRECTS = 20;

/** Dropped with the body when a redirect turns the request into a GET. */
export const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'] as const;

/**
 * Dropped on a hop to another origin, as fetch does: the credentials, and `host`, which names
 * the origin being left (sent on, it would ask the new server for the API's virtual host, and
 * node:https would check the new server's certificate against the API's name).
 */
export const CROSS_ORIGIN_DROPPED: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);

export interface Hop {
  url: URL;
  method: string;
  headers: Headers;
  body: unknown;
}

export interface RedirectContext {
  /** The request's redirect mode: `'follow'`, `'manual'` or `'error'`. */
  mode: string;
  /** How many redirects were followed before this response. */
  followed: number;
  /** The URL the chain started from, for messages. */
  start: URL;
  /** A header value that must not leave the origin either (a placeholder), beyond `CROSS_ORIGIN_DROPPED`. */
  originBound(value: string): boolean;
}

/**
 * The hop that `response` (to `from`) redirects to, or undefined when it is the answer: not a
 * redirect, no `location`, or `redirect: 'manual'`. Rejects as fetch does (a TypeError) when
 * the redirect may not be followed; the redirect's own body is discarded.
 */
export async function nextHop(response: Response, from: Hop, context: RedirectContext): Promise<Hop | undefined> {
  if (!REDIRECT_STATUSES.has(response.status) || context.mode === 'manual') return undefined;
  const location = response.headers.get('location');
  if (location === null) return undefined;
  await discardBody(response);
  if (context.mode === 'error') throw new TypeError(`agent-vault fetch: ${from.url.href} redirected, and redirect is "error".`);
  if (context.followed >= MAX_REDIRECTS) {
    throw new TypeError(`agent-vault fetch: more than ${MAX_REDIRECTS} redirects from ${context.start.href}.`);
  }
  const url = new URL(location, from.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`agent-vault fetch: refusing a redirect to a ${url.protocol} URL.`);
  }
  let { method, body, headers } = from;
  const { status } = response;
  if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
    method = 'GET';
    body = undefined;
    headers = new Headers(headers);
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (body !== undefined && body !== null && !replayable(body)) {
    throw new TypeError('agent-vault fetch: cannot replay a streamed request body across a redirect.');
  }
  if (url.origin !== from.url.origin) {
    const kept = new Headers();
    for (const [name, value] of headers) {
      if (!CROSS_ORIGIN_DROPPED.has(name) && !context.originBound(value)) kept.append(name, value);
    }
    headers = kept;
  }
  return { url, method, headers, body };
}

/** Drop a redirect's body without reading much of it: web streams cancel, node streams destroy. */
export async function discardBody(response: Response): Promise<void> {
  const body = response.body as unknown as { cancel?: () => Promise<void>; destroy?: () => void } | null;
  try {
    if (typeof body?.cancel === 'function') await body.cancel();
    else if (typeof body?.destroy === 'function') body.destroy();
  } catch {
    // The body is not needed; a failure to drop it changes nothing.
  }
}

/**
 * Whether `response` (to a request for `requested` sent with `redirect: 'manual'`) shows that the
 * fetch that sent it followed a redirect itself: it says so (`redirected`), or it answers for
 * another URL. A fetch that does this takes the key wherever the redirect points, in every header
 * but `Authorization` (the only one fetch drops on a hop to another origin).
 */
export function followedItself(response: Response, requested: URL): boolean {
  if (response.redirected === true) return true;
  const url = typeof response.url === 'string' ? response.url : '';
  // The usual answer, for the URL asked: no parsing needed.
  if (url === '' || url === requested.href) return false;
  try {
    const answered = new URL(url);
    answered.hash = '';
    const asked = new URL(requested.href);
    asked.hash = '';
    return answered.href !== asked.href;
  } catch {
    return false;
  }
}

/** The refusal for a vault fetch whose wrapped fetch follows redirects itself. */
export function followingFetchError(from: URL, to: string): UsageError {
  return new UsageError(
    `The fetch given to agent-vault followed a redirect itself (from ${from.origin} to ${originOf(to)}) although agent-vault ` +
      "asked for redirect: 'manual', so it would take the API key along wherever a redirect points (fetch drops only " +
      'Authorization on a hop to another origin, not x-api-key or api-key). agent-vault sends no key through it any more. ' +
      "Make your fetch pass init.redirect through (honour redirect: 'manual'), or leave out the fetch option. If the " +
      'redirect left the API\'s origin, rotate the key.',
  );
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'another URL';
  }
}
