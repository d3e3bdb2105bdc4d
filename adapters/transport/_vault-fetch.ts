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
 * default transport avoids the string altogether (_choice.ts, _hardened.ts):
 * the headers carry a one-time placeholder and the socket writes the key over it, inside a
 * buffer it zeroes after the write.
 *
 * Whatever the server echoes of the key (an error body quoting the Authorization header, a
 * `www-authenticate` header) is redacted before the response is handed back, with either
 * transport (_redact.ts).
 */
import type { Vault } from '../../src/vault.ts';
import type { SecretBuffer } from '../../src/secret.ts';
import { secretBytes } from '../../src/_bytes.ts';
import { isVaultError, UsageError } from '../../src/errors.ts';
import { armRequest, requestReason, selectTransport, type TransportOption } from './_choice.ts';
import { checkHeaderValue, trimSpace } from './_key-bytes.ts';
import { type KeyLender, redactResponse, type SuccessBodies } from './_redact.ts';
import { redactError } from './_redact-stream.ts';
import { discardBody, followedItself, followingFetchError, type Hop, nextHop } from './_redirects.ts';
import { refusalResponse } from './_refusals.ts';
import { isStreamBody, type NormalizedRequest, normalizeRequest } from './_request.ts';

export type { TransportOption } from './_choice.ts';

/** The shape of `fetch` that SDKs accept (and that `globalThis.fetch` has). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Sends one hop with `headers` (built by `send`); `keyed`: they carry the key (or its one-time placeholder). */
type Sender = (
  hop: Pick<Hop, 'url' | 'method' | 'body'>, headers: Record<string, string>, rest: Record<string, unknown>, keyed: boolean,
) => Promise<Response>;

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
  /** Which 2xx bodies are searched for echoes of the key (`_redact.ts`). Default: event streams. */
  successBodies?: SuccessBodies;
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
  // Set once the wrapped fetch is seen following a redirect itself: no key goes through it again.
  let followingFetch: UsageError | undefined;
  const hardened = selectTransport(options.transport, { customFetch: internal.customFetch ?? options.fetch !== undefined, vault });

  /** The wrapped fetch, one hop at a time (redirects are followed in `send`). */
  const viaFetch: Sender = ({ url, method, body }, headers, rest) => transport(url.href, {
    // A streamed body needs duplex: 'half' in Node's fetch; openai 4 (written for node-fetch) omits it.
    ...(isStreamBody(body) ? { duplex: 'half' } : {}),
    ...rest, method, headers, body, redirect: 'manual',
  } as RequestInit);

  const vaultFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = await normalizeRequest(input, init);
    let carriesPlaceholder = false;
    for (const value of request.headers.values()) if (value.includes(placeholder)) carriesPlaceholder = true;
    const wantsKey = request.url.origin === origin &&
      (carriesPlaceholder || (header !== undefined && !request.headers.has(header)));
    if (!wantsKey) return send(request, undefined);
    if (followingFetch) {
      if (internal.refusals === 'respond') return refusalResponse(followingFetch);
      throw followingFetch;
    }

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
        const { send: sendHop, placeholder: oneTime } = armed;
        // The hardened transport takes the parsed hop as it is; the key goes in over `oneTime`.
        const viaHardened: Sender = ({ url, method, body }, headers, rest, keyed) =>
          sendHop({ url, method, headers, body, signal: rest.signal as AbortSignal | undefined }, keyed ? oneTime : undefined);
        try {
          return await send(request, oneTime, viaHardened, armed.key);
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
        const lender = bytesLender(trimSpace(key.bytes));
        return send(request, value, viaFetch, lender);
      });
    } catch (error) {
      if (!sending && internal.refusals === 'respond' && isVaultError(error)) return refusalResponse(error);
      throw error;
    }
  };

  /**
   * Send, following redirects by hand (`_redirects.ts`) so that each hop is checked before the
   * key goes out. `key` is what goes over the placeholder (the key, or the hardened transport's
   * one-time placeholder); `lender` lends the key's bytes to redact the response once the key
   * has gone out.
   */
  async function send(
    request: NormalizedRequest, key: string | undefined, via: Sender = viaFetch, lender?: KeyLender,
  ): Promise<Response> {
    let hop: Hop | undefined = request;
    let keyAllowed = key !== undefined;
    let keySent = false;
    for (let followed = 0; ; followed++) {
      const { url, method, headers, body } = hop;
      // Once a chain has left the API's origin the key does not come back into it.
      if (url.origin !== origin) keyAllowed = false;
      keySent ||= keyAllowed;
      const outgoing = keyAllowed ? withKey(headers, key!) : withoutPlaceholder(headers);
      let response: Response;
      try {
        response = await via({ url, method, body }, outgoing, request.rest, keyAllowed);
      } catch (error) {
        // A malformed answer is reported with the bytes received, which may echo the key.
        throw keySent && lender ? lender.lend((bytes) => redactError(error, bytes)) : error;
      }
      if (keyAllowed && followedItself(response, url)) {
        followingFetch = followingFetchError(url, response.url);
        await discardBody(response);
        if (internal.refusals === 'respond') return refusalResponse(followingFetch);
        throw followingFetch;
      }
      hop = await nextHop(response, hop, {
        mode: request.redirect, followed, start: request.url, originBound: (value) => value.includes(placeholder),
      });
      if (!hop) return keySent && lender ? redactResponse(response, lender, internal.successBodies) : response;
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

  Object.defineProperty(vaultFetch, 'placeholder', { value: placeholder, enumerable: true });
  return vaultFetch as VaultFetch;
}

/**
 * A lender over bytes valid for now (inside `vault.use()`): `keep()` copies them into an array of
 * its own, wiped on `drop()`, for a stream that outlives the call.
 */
function bytesLender(bytes: Uint8Array): KeyLender {
  return {
    minLength: bytes.length,
    lend: (use) => use(bytes),
    keep() {
      const copy = secretBytes(bytes.length);
      copy.set(bytes);
      return { ...bytesLender(copy), drop: () => copy.fill(0) };
    },
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

/** The key as a header value (`_key-bytes.ts` says what is refused, and why). */
function headerValue(key: SecretBuffer, name: string): string {
  const bytes = trimSpace(key.bytes);
  checkHeaderValue(bytes, name);
  return ascii.decode(bytes);
}

const ascii = new TextDecoder();
