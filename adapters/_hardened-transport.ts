/**
 * The hardened transport: a WHATWG `fetch` over node:http and node:https whose sockets put the
 * provider key into the request head themselves (see _socket-injection.ts), so the key never
 * becomes a JS string: not in a header, not in the head node:http builds, not in a native copy
 * of that string.
 *
 * Everything else is plain Node: keep-alive pooling by an `Agent` per protocol, TLS verification
 * exactly as node:https does it (the default CA store, or `ca` when given), abort signals, request
 * bodies of every kind `new Request()` accepts (streams are sent chunked), streamed and
 * decompressed responses, and fetch's redirect modes.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { UsageError, VaultError } from '../src/errors.ts';
import { armSocket, clearInjection, type Injection, MIN_KEY_LENGTH, setInjection } from './_socket-injection.ts';
import { toResponse } from './_http-response.ts';

export interface HardenedTransportOptions {
  /**
   * Certificate authorities to trust for HTTPS instead of Node's default store (PEM). Default:
   * Node's store, with `NODE_EXTRA_CA_CERTS` and `--use-system-ca` as usual. Verification stays on.
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** Idle keep-alive connections close after this many ms (or the server's shorter hint). Default 4000. */
  keepAliveTimeout?: number;
  /** Connections per origin. Default: unlimited. */
  maxSockets?: number;
}

/** Where a key comes from at the moment of writing: `Vault._prepare()` returns one. */
export interface KeySource {
  readonly length: number;
  decryptInto(target: Uint8Array): void;
}

/** A key waiting for its request: put `placeholder` where the key goes, then `disarm()`. */
export interface ArmedKey {
  /** Random letters and digits, exactly the stored key's length, unique to this arming. */
  readonly placeholder: string;
  /** The length of the key as sent (surrounding whitespace dropped), once a socket has put it in. */
  readonly keyLength: number | undefined;
  disarm(): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];
const CROSS_ORIGIN_DROPPED = ['authorization', 'proxy-authorization', 'cookie'];

export class HardenedTransport {
  readonly #agents: Record<'http:' | 'https:', http.Agent>;
  readonly #armed = new Map<string, { origin: string; injection: Injection }>();

  constructor(options: HardenedTransportOptions = {}) {
    const common = {
      keepAlive: true,
      scheduling: 'lifo' as const,
      timeout: options.keepAliveTimeout ?? 4000,
      ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
    };
    this.#agents = {
      'http:': new InjectingHttpAgent(common),
      'https:': new InjectingHttpsAgent({ ...common, ...(options.ca === undefined ? {} : { ca: options.ca }) }),
    };
  }

  /**
   * Arm a key for requests to `origin`: any of them whose headers carry the returned placeholder
   * gets the key written over it at the socket, until `disarm()`.
   */
  arm(origin: string, secret: string, source: KeySource): ArmedKey {
    if (source.length < MIN_KEY_LENGTH) {
      throw new UsageError(
        `The secret "${secret}" is shorter than ${MIN_KEY_LENGTH} bytes, too short for the hardened transport; ` +
          "use transport: 'standard' for it.",
      );
    }
    const placeholder = randomPlaceholder(source.length);
    let keyLength: number | undefined;
    const injection: Injection = {
      placeholder: Buffer.from(placeholder, 'latin1'),
      secret,
      fill: (target) => source.decryptInto(target),
      placed: (length) => (keyLength = length),
    };
    this.#armed.set(placeholder, { origin: new URL(origin).origin, injection });
    return {
      placeholder,
      get keyLength() {
        return keyLength;
      },
      disarm: () => this.#armed.delete(placeholder),
    };
  }

  /** The fetch function: same contract as `globalThis.fetch` (Node's). */
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => this.#fetch(input, init);

  /** Close every pooled connection. */
  close(): void {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }

  async #fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    // The signal is kept out of `new Request()`, which refuses signals of other realms (polyfills).
    const { signal: initSignal, ...rest } = init;
    const signal = initSignal ?? (input instanceof Request ? input.signal : undefined);
    if (signal?.aborted) throw abortReason(signal);
    const request = await normalize(input, rest);
    let { url, method, headers, body } = request;
    // Once a redirect chain leaves an origin, no key is put in again, even back on that origin.
    const origin = url.origin;
    let left = false;
    for (let hop = 0; ; hop++) {
      if (url.origin !== origin) left = true;
      const response = await this.#send(url, method, headers, body, signal ?? undefined, !left);
      if (hop > 0) Object.defineProperty(response, 'redirected', { value: true });
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || request.redirect === 'manual' || location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      if (request.redirect === 'error') throw new TypeError(`fetch failed: ${url.href} redirected, and redirect is "error".`);
      if (hop >= MAX_REDIRECTS) throw new TypeError(`fetch failed: more than ${MAX_REDIRECTS} redirects from ${request.url.href}.`);
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new TypeError(`fetch failed: redirect to ${next.protocol}.`);
      // The fetch standard's rules for the method and body on a redirect.
      if (((response.status === 301 || response.status === 302) && method === 'POST') ||
        (response.status === 303 && method !== 'GET' && method !== 'HEAD')) {
        method = 'GET';
        body = null;
        headers = new Headers(headers);
        for (const name of BODY_HEADERS) headers.delete(name);
      } else if (body !== null && !Buffer.isBuffer(body)) {
        throw new TypeError('fetch failed: cannot replay a streamed request body across a redirect.');
      }
      if (next.origin !== url.origin) headers = this.#crossOriginHeaders(headers);
      url = next;
    }
  }

  /** Headers for a hop to another origin: what fetch drops there, and any armed placeholder. */
  #crossOriginHeaders(headers: Headers): Headers {
    const out = new Headers();
    for (const [name, value] of headers) {
      if (!CROSS_ORIGIN_DROPPED.includes(name) && !this.#armedIn(value)) out.append(name, value);
    }
    return out;
  }

  #armedIn(value: string): { origin: string; injection: Injection } | undefined {
    if (this.#armed.size === 0) return undefined;
    for (const token of value.split(/[\s,;:=]+/)) {
      const armed = this.#armed.get(token);
      if (armed) return armed;
    }
    return undefined;
  }

  #send(
    url: URL, method: string, headers: Headers, body: Buffer | ReadableStream<Uint8Array> | null,
    signal: AbortSignal | undefined, mayInject: boolean,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      const outgoing = outgoingHeaders(headers, method, body);
      let injection: Injection | undefined;
      if (mayInject) {
        for (const value of Object.values(outgoing)) {
          const armed = this.#armedIn(value);
          if (armed?.origin === url.origin) injection = armed.injection;
        }
      }
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port || undefined,
        path: url.pathname + url.search,
        method,
        headers: outgoing,
        agent: this.#agents[secure ? 'https:' : 'http:'],
      });
      let response: http.IncomingMessage | undefined;
      const onAbort = () => {
        const reason = abortReason(signal!);
        request.destroy(reason as Error);
        response?.destroy(reason as Error);
        reject(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      if (injection) {
        const pending = injection;
        request.once('socket', (socket: Socket) => {
          setInjection(socket, pending);
          request.once('close', () => clearInjection(socket, pending));
        });
      }
      request.on('error', (error) => {
        done();
        reject(signal?.aborted ? abortReason(signal) : error instanceof VaultError ? error : new TypeError('fetch failed', { cause: error }));
      });
      request.once('response', (incoming) => {
        response = incoming;
        incoming.once('close', done);
        try {
          resolve(toResponse(incoming, url, method));
        } catch (error) {
          incoming.destroy();
          reject(error);
        }
      });
      if (body === null) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else {
        Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
          .on('error', (error) => request.destroy(error))
          .pipe(request);
      }
    });
  }
}

interface Normalized {
  url: URL;
  method: string;
  headers: Headers;
  body: Buffer | ReadableStream<Uint8Array> | null;
  redirect: Request['redirect'];
}

const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/**
 * What `new Request(input, init)` makes of a request: method, headers, and the body as bytes
 * (read whole) or as a stream (sent chunked). The usual case, a URL and a string or bytes body,
 * skips building a Request, which costs more than the rest of sending one.
 */
async function normalize(input: string | URL | Request, init: RequestInit): Promise<Normalized> {
  const { body } = init;
  const method = typeof init.method === 'string' && NORMALIZED_METHODS.has(init.method.toUpperCase())
    ? init.method.toUpperCase() : init.method ?? 'GET';
  const simple = body === undefined || body === null || typeof body === 'string' || ArrayBuffer.isView(body) || body instanceof ArrayBuffer;
  if (simple && !(input instanceof Request) && (body == null || (method !== 'GET' && method !== 'HEAD'))) {
    const headers = new Headers(init.headers);
    if (typeof body === 'string' && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    const bytes = body === undefined || body === null ? null
      : typeof body === 'string' ? Buffer.from(body)
      : ArrayBuffer.isView(body) ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
      : Buffer.from(body);
    return { url: new URL(String(input)), method, headers, body: bytes, redirect: init.redirect ?? 'follow' };
  }
  const streamed = isStreamBody(body);
  const request = new Request(input, streamed && !('duplex' in init) ? { ...init, duplex: 'half' } as RequestInit : init);
  return {
    url: new URL(request.url),
    method: request.method,
    headers: request.headers,
    body: request.body === null ? null : streamed ? request.body : Buffer.from(await request.arrayBuffer()),
    redirect: request.redirect,
  };
}

/** Headers as node:http takes them, with what fetch adds by default and the body's framing. */
function outgoingHeaders(headers: Headers, method: string, body: Buffer | ReadableStream | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) out[name] = value;
  out['accept'] ??= '*/*';
  out['accept-encoding'] ??= 'gzip, deflate, br';
  out['user-agent'] ??= 'node';
  delete out['transfer-encoding'];
  if (Buffer.isBuffer(body)) out['content-length'] = String(body.length);
  else if (body === null) {
    if (method === 'POST' || method === 'PUT') out['content-length'] = '0';
    else delete out['content-length'];
  } else if (out['content-length'] === undefined) out['transfer-encoding'] = 'chunked';
  return out;
}

/** A body sent as it comes (chunked) rather than read whole first: streams and async iterables. */
function isStreamBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string' || ArrayBuffer.isView(body)) return false;
  if (body instanceof ArrayBuffer || body instanceof Blob || body instanceof FormData || body instanceof URLSearchParams) return false;
  return body instanceof ReadableStream || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random letters and digits: valid in any header, and never a usable key. */
function randomPlaceholder(length: number): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(length));
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

class InjectingHttpAgent extends http.Agent {
  override createConnection(...args: Parameters<http.Agent['createConnection']>): ReturnType<http.Agent['createConnection']> {
    const socket = super.createConnection(...args);
    if (socket) armSocket(socket as Socket, false);
    return socket;
  }
}

class InjectingHttpsAgent extends https.Agent {
  override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
    const socket = super.createConnection(...args);
    if (socket) armSocket(socket as Socket, true);
    return socket;
  }
}
