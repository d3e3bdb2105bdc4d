/**
 * The one vault-aware fetch every adapter is built on (public face: `agent-vault/fetch`).
 *
 * An SDK client is given a placeholder instead of its API key, and this fetch instead of its
 * transport. For each HTTP attempt to the API's origin it resolves the real key from the vault,
 * writes it over the placeholder in a copy of the request headers, sends, and lets the vault
 * wipe the decrypted bytes as soon as the response headers arrive (for an error status, once
 * its body has been searched for the key). Anything bound elsewhere (a redirect to another
 * host, a request the SDK makes to a foreign URL) never carries the key.
 *
 * The header string we build cannot be wiped (JS strings are immutable); we keep no reference
 * to it, and the adapter tests measure that no copy survives a request and a GC. On Node the
 * default transport avoids the string altogether (_transport-choice.ts, _hardened-transport.ts):
 * the headers carry a one-time placeholder and the socket writes the key over it, inside a
 * buffer it zeroes after the write.
 *
 * Whatever the server echoes of the key (an error body quoting the Authorization header, a
 * `www-authenticate` header) is redacted before the response is handed back, with either
 * transport (_redact-response.ts).
 */
import type { Vault } from '../src/vault.ts';
import type { SecretBuffer } from '../src/secret.ts';
import { isVaultError, UsageError, type VaultError } from '../src/errors.ts';
import { type KeyLender, redactResponse, trimSpace } from './_redact-response.ts';
import { armRequest, requestReason, selectTransport, type TransportOption } from './_transport-choice.ts';

export type { TransportOption } from './_transport-choice.ts';

/** The shape of `fetch` that SDKs accept (and that `globalThis.fetch` has). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * What the adapters need of a vault: `openVault()` returns one. The hardened transport also uses
 * an internal method where present; it stays out of the shipped types, so it is not named here.
 */
export type VaultLike = Pick<Vault, 'use'>;

export interface VaultFetchOptions {
  /** The secret's name in the vault, e.g. `'openai-api-key'`. */
  secret: string;
  /**
   * The only origin that may receive the key, as an origin or any URL on it (an SDK's base URL:
   * `'https://api.openai.com/v1'`). Required: the key never goes to an origin you did not name.
   */
  origin: string | URL;
  /**
   * A header to set to the key when the request does not carry the placeholder, for SDKs that
   * take no API key of their own (`'x-api-key'`, `'api-key'`, `'authorization'`). Default: none;
   * the key then only replaces the placeholder (see `placeholder`) wherever a header holds it.
   */
  header?: string;
  /** Prefix for `header`'s value, e.g. `'Bearer'`. Default: `'Bearer'` for `authorization`, else none. */
  scheme?: string;
  /** The transport to wrap. Default: `globalThis.fetch`, looked up at each call. */
  fetch?: FetchLike;
  /**
   * How the key reaches the wire. `'auto'` (default): on Node, the headers carry a one-time
   * placeholder and the socket writes the key over it inside a buffer zeroed after the write, so
   * the key never becomes a JS string; where that cannot be used (another runtime, your own
   * `fetch`, a dispatcher or an environment proxy) the standard transport, announced once.
   * `'hardened'`: that or a UsageError. `'standard'`: the key goes into a copy of the request
   * headers, sent by `fetch`.
   */
  transport?: TransportOption;
}

/** A fetch function that puts the vault's key in; `placeholder` is what to give the SDK as its key. */
export type VaultFetch = FetchLike & {
  /** A random stand-in of the form `agent-vault-placeholder-<32 hex>`, unique to this fetch. */
  readonly placeholder: string;
};

/** How a fetch is built: the public helper rejects on refusal, the SDK adapters answer with a response. */
export interface VaultFetchInternals {
  placeholder: string;
  /**
   * `reject`: the fetch rejects with the VaultError (an SDK would treat it as a connection
   * failure and retry). `respond`: the fetch answers with a synthetic 403 that no SDK retries
   * (`x-should-retry: false`), and the adapter turns it back into the VaultError.
   */
  refusals: 'reject' | 'respond';
  /** The user gave their own fetch (`options.fetch` may be an SDK's default). Default: `options.fetch` is set. */
  customFetch?: boolean;
}

export function buildVaultFetch(
  vault: VaultLike,
  options: VaultFetchOptions,
  internal: VaultFetchInternals,
): VaultFetch {
  if (!vault || typeof vault.use !== 'function') {
    throw new UsageError('A vault-aware fetch needs { vault }: the Vault from openVault().');
  }
  if (typeof options?.secret !== 'string' || options.secret.length === 0) {
    throw new UsageError('A vault-aware fetch needs { secret }: the name of the secret holding the API key.');
  }
  const origin = originOf(options.origin);
  const header = options.header?.toLowerCase();
  const scheme = options.scheme ?? (header === 'authorization' ? 'Bearer' : undefined);
  const { placeholder } = internal;
  const { secret } = options;
  const transport: FetchLike = (input, init) => (options.fetch ?? globalThis.fetch)(input, init);
  const hardened = selectTransport(options.transport, { customFetch: internal.customFetch ?? options.fetch !== undefined, vault });

  const vaultFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = await normalizeRequest(input, init);
    const carriesPlaceholder = [...request.headers.values()].some((value) => value.includes(placeholder));
    const wantsKey = request.url.origin === origin &&
      (carriesPlaceholder || (header !== undefined && !request.headers.has(header)));
    if (!wantsKey) return send(request, undefined);

    if (hardened) {
      // Undefined when this request must take the standard path (a dispatcher, a short key).
      let armed: Awaited<ReturnType<typeof armRequest>>;
      try {
        armed = requestReason(request.rest, options.transport) === undefined
          ? await armRequest(vault, secret, origin, options.transport)
          : undefined;
      } catch (error) {
        if (internal.refusals === 'respond' && isVaultError(error)) return refusalResponse(error);
        throw error;
      }
      if (armed) {
        try {
          return await send(request, armed.placeholder, armed.fetch, armed.key);
        } finally {
          armed.release();
        }
      }
    }

    let sending = false;
    try {
      return await vault.use(secret, (key) => {
        const value = headerValue(key, secret);
        sending = true;
        // The bytes inside use() stay valid (and are wiped by it) until the response is redacted.
        const lender: KeyLender = { minLength: value.length, lend: (use) => use(trimSpace(key.bytes)) };
        return send(request, value, transport, lender);
      });
    } catch (error) {
      if (!sending && internal.refusals === 'respond' && isVaultError(error)) return refusalResponse(error);
      throw error;
    }
  };

  /**
   * Send, following redirects by hand so that each hop is checked before the key goes out. `key`
   * is what goes over the placeholder (the key, or the hardened transport's one-time placeholder);
   * `lender` lends the key's bytes to redact the response once the key has gone out.
   */
  async function send(
    request: NormalizedRequest, key: string | undefined, via: FetchLike = transport, lender?: KeyLender,
  ): Promise<Response> {
    let { url, method, body } = request;
    let headers = request.headers;
    let keyAllowed = key !== undefined;
    let keySent = false;
    const handBack = (response: Response) => (keySent && lender ? redactResponse(response, lender) : response);
    for (let hop = 0; ; hop++) {
      // Once a chain has left the API's origin the key does not come back into it.
      if (url.origin !== origin) keyAllowed = false;
      keySent ||= keyAllowed;
      const outgoing = keyAllowed ? withKey(headers, key!) : withoutPlaceholder(headers);
      const response = await via(url.href, {
        // A streamed body needs duplex: 'half' in Node's fetch; openai 4 (written for node-fetch) omits it.
        ...(isStream(body) ? { duplex: 'half' } : {}),
        ...request.rest, method, headers: outgoing, body, redirect: 'manual',
      } as RequestInit);
      if (!REDIRECTS.has(response.status) || request.redirect === 'manual') return handBack(response);
      const location = response.headers.get('location');
      if (location === null) return handBack(response);
      await discardBody(response);
      if (request.redirect === 'error') throw new TypeError(`agent-vault fetch: ${url.href} redirected, and redirect is "error".`);
      if (hop >= MAX_REDIRECTS) throw new TypeError(`agent-vault fetch: more than ${MAX_REDIRECTS} redirects from ${request.url.href}.`);
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new TypeError(`agent-vault fetch: refusing a redirect to a ${next.protocol} URL.`);
      }
      // The fetch standard's method and body rules for redirects.
      if (((response.status === 301 || response.status === 302) && method === 'POST') ||
        (response.status === 303 && method !== 'GET' && method !== 'HEAD')) {
        method = 'GET';
        body = undefined;
        headers = new Headers(headers);
        for (const name of BODY_HEADERS) headers.delete(name);
      } else if (body !== undefined && body !== null && !replayable(body)) {
        throw new TypeError('agent-vault fetch: cannot replay a streamed request body across a redirect.');
      }
      if (next.origin !== url.origin) headers = crossOriginHeaders(headers);
      url = next;
    }
  }

  /** A copy of `headers` with the key over the placeholder, or in `header` when none carries it. */
  function withKey(headers: Headers, key: string): Record<string, string> {
    const out: Record<string, string> = {};
    let placed = false;
    for (const [name, value] of headers) {
      if (value.includes(placeholder)) {
        out[name] = value.replaceAll(placeholder, key);
        placed = true;
      } else {
        out[name] = value;
      }
    }
    if (!placed && header !== undefined && !(header in out)) out[header] = scheme ? `${scheme} ${key}` : key;
    return out;
  }

  /** A copy of `headers` without any header that holds the placeholder. */
  function withoutPlaceholder(headers: Headers): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of headers) if (!value.includes(placeholder)) out[name] = value;
    return out;
  }

  /** What fetch itself drops on a cross-origin redirect, plus anything holding the placeholder. */
  function crossOriginHeaders(headers: Headers): Headers {
    const out = new Headers();
    for (const [name, value] of headers) {
      if (!CROSS_ORIGIN_DROPPED.has(name) && !value.includes(placeholder)) out.append(name, value);
    }
    return out;
  }

  Object.defineProperty(vaultFetch, 'placeholder', { value: placeholder, enumerable: true });
  return vaultFetch as VaultFetch;
}

const PLACEHOLDER_PREFIX = 'agent-vault-placeholder-';

/** A fresh placeholder: recognisable, random, and never a usable key anywhere. */
export function createPlaceholder(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return PLACEHOLDER_PREFIX + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** True for a string made by `createPlaceholder()`. */
export function isPlaceholder(value: unknown): value is string {
  return typeof value === 'string' && /^agent-vault-placeholder-[0-9a-f]{32}$/.test(value);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];
const CROSS_ORIGIN_DROPPED = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);

interface NormalizedRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: unknown;
  redirect: string;
  /** The rest of init (signal, duplex, dispatcher, node-fetch's agent), passed through untouched. */
  rest: Record<string, unknown>;
}

/**
 * Accept what SDKs pass (a URL string and an init whose headers may be a `Headers`, a plain
 * object as openai v4's node-fetch path sends, or pairs) and what people pass (a `Request`).
 */
async function normalizeRequest(input: string | URL | Request, init: RequestInit | undefined): Promise<NormalizedRequest> {
  if (typeof input !== 'string' && !(input instanceof URL) && typeof input?.url === 'string') {
    const request = new Request(input, init);
    const { headers: _h, body: _b, method: _m, redirect: _r, ...rest } = (init ?? {}) as Record<string, unknown>;
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return { url: new URL(request.url), method: request.method, headers: request.headers, body, redirect: request.redirect, rest: { signal: request.signal, ...rest } };
  }
  const { headers, body, method, redirect, ...rest } = (init ?? {}) as Record<string, unknown>;
  return {
    url: new URL(String(input)),
    method: typeof method === 'string' ? method.toUpperCase() : 'GET',
    headers: new Headers((headers ?? undefined) as ConstructorParameters<typeof Headers>[0]),
    body,
    redirect: typeof redirect === 'string' ? redirect : 'follow',
    rest,
  };
}

function originOf(value: string | URL | undefined): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new UsageError(
      `A vault-aware fetch needs { origin }: the API's origin or base URL, e.g. 'https://api.openai.com'. Got ${JSON.stringify(String(value))}.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`The API origin must be an http(s) URL, not ${url.protocol} (${url.origin}).`);
  }
  return url.origin;
}

/**
 * The key as a header value. Surrounding whitespace (a stored trailing newline) is dropped;
 * anything else outside visible ASCII is refused here, because a runtime's "invalid header
 * value" error would quote the key.
 */
function headerValue(key: SecretBuffer, name: string): string {
  const bytes = trimSpace(key.bytes);
  if (bytes.length === 0) throw new UsageError(`The secret "${name}" is empty; store the API key in it.`);
  for (const byte of bytes) {
    if (byte < 0x21 || byte > 0x7e) {
      throw new UsageError(
        `The secret "${name}" is not a valid HTTP header value (it holds spaces, control or non-ASCII ` +
          'characters). Store the bare API key.',
      );
    }
  }
  return ascii.decode(bytes);
}

const ascii = new TextDecoder();

function replayable(body: unknown): boolean {
  return typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData;
}

/** A web or Node stream (or any async iterable): sent once, never replayed. */
function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !replayable(body) &&
    (body instanceof ReadableStream || Symbol.asyncIterator in body);
}

/** Drop a redirect's body without reading much of it: web streams cancel, node streams destroy. */
async function discardBody(response: Response): Promise<void> {
  const body = response.body as unknown as { cancel?: () => Promise<void>; destroy?: () => void } | null;
  try {
    if (typeof body?.cancel === 'function') await body.cancel();
    else if (typeof body?.destroy === 'function') body.destroy();
  } catch {
    // The body is not needed; a failure to drop it changes nothing.
  }
}

// ---- refusals as responses (for the SDK adapters) ----

/** The header that names a refusal on a synthetic response. */
const REFUSAL_HEADER = 'x-agent-vault-refusal';
const refusals = new Map<string, VaultError>();
const MAX_PENDING_REFUSALS = 256;

/**
 * A 403 that stands for a vault refusal: never retried (`x-should-retry: false` is honoured by
 * every Stainless SDK), with the error's code and message in the body, and an id by which the
 * adapter takes back the VaultError itself.
 */
function refusalResponse(error: VaultError): Response {
  const id = createPlaceholder().slice(PLACEHOLDER_PREFIX.length);
  refusals.set(id, error);
  // Nobody may take it (a client built with withVault() alone): keep only the newest few.
  if (refusals.size > MAX_PENDING_REFUSALS) refusals.delete(refusals.keys().next().value!);
  const body = { error: { type: 'agent_vault_refusal', code: error.code, message: error.message } };
  return new Response(JSON.stringify(body), {
    status: 403,
    statusText: 'Refused by agent-vault',
    headers: { 'content-type': 'application/json', 'x-should-retry': 'false', [REFUSAL_HEADER]: id },
  });
}

/**
 * The VaultError behind a synthetic refusal response, given its headers (a `Headers`,
 * or the plain object openai v4 makes of them); undefined for any other response. Each refusal
 * is handed out once.
 */
export function takeRefusal(headers: unknown): VaultError | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const id = typeof (headers as Headers).get === 'function'
    ? (headers as Headers).get(REFUSAL_HEADER)
    : (headers as Record<string, unknown>)[REFUSAL_HEADER];
  if (typeof id !== 'string') return undefined;
  const error = refusals.get(id);
  refusals.delete(id);
  return error;
}
