/**
 * The hardened transport: a WHATWG `fetch` over node:http and node:https whose sockets put the
 * provider key into the request head themselves (see _injection.ts), so the key never
 * becomes a JS string: not in a header, not in the head node:http builds, not in a native copy
 * of that string.
 *
 * Everything else is plain Node: keep-alive pooling by an `Agent` per protocol, TLS verification
 * exactly as node:https does it (the default CA store, or `ca` when given), abort signals, request
 * bodies of every kind `new Request()` accepts (streams are sent chunked), streamed and
 * decompressed responses.
 *
 * It sends exactly one hop: a redirect comes back as the 3xx response itself, whatever the
 * request's redirect mode. Following it is the vault fetch's job (`_redirects.ts`), which checks
 * each hop before a key may go out; so the placeholder's key goes only where the vault fetch sent it.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { UsageError, VaultError } from '../../src/errors.ts';
import { toResponse } from './_http-response.ts';
import { armSocket, clearInjection, type Injection, MIN_KEY_LENGTH, setInjection } from './_injection.ts';
import { oneTimePlaceholder } from './_placeholders.ts';
import { isStreamBody, type NormalizedRequest, normalizeRequest } from './_request.ts';

export interface HardenedTransportOptions {
  /**
   * Certificate authorities to trust for HTTPS instead of Node's default store (PEM). Default:
   * Node's store, with `NODE_EXTRA_CA_CERTS` and `--use-system-ca` as usual. Verification stays on.
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** Idle keep-alive connections close after this many ms (or the server's shorter hint). Default 4000. */
  keepAliveTimeout?: number;
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

export class HardenedTransport {
  readonly #agents: Record<'http:' | 'https:', http.Agent>;
  readonly #armed = new Map<string, { origin: string; injection: Injection }>();

  constructor(options: HardenedTransportOptions = {}) {
    const common = {
      keepAlive: true,
      // Nagle off: a request is one write, and waiting on the previous segment's ACK only adds latency.
      noDelay: true,
      scheduling: 'lifo' as const,
      timeout: options.keepAliveTimeout ?? 4000,
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
    const placeholder = oneTimePlaceholder(source.length);
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

  async #fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = await normalizeRequest(input, init);
    const signal = (request.rest.signal ?? undefined) as AbortSignal | undefined;
    if (signal?.aborted) throw abortReason(signal);
    const body = await socketBody(request);
    return this.#send(request.url, request.method, request.headers, body, signal);
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
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      const outgoing = outgoingHeaders(headers, method, body);
      let injection: Injection | undefined;
      for (const value of Object.values(outgoing)) {
        const armed = this.#armedIn(value);
        if (armed?.origin === url.origin) injection = armed.injection;
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

/**
 * The body as node:http sends it: bytes (a string, bytes: the usual case, which skips building a
 * Request, costlier than the rest of sending one), a stream (sent chunked), or what
 * `new Request()` makes of the rest (a Blob, FormData, URLSearchParams), whose content-type it
 * adds. A body on GET or HEAD is refused there, as fetch refuses it.
 */
async function socketBody(request: NormalizedRequest): Promise<Buffer | ReadableStream<Uint8Array> | null> {
  const { url, method, headers, body } = request;
  if (body === undefined || body === null) return null;
  if (method !== 'GET' && method !== 'HEAD') {
    if (typeof body === 'string') {
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      return Buffer.from(body);
    }
    if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (body instanceof ArrayBuffer) return Buffer.from(body);
  }
  const streamed = isStreamBody(body);
  const serialized = new Request(url, { method, headers, body, ...(streamed ? { duplex: 'half' } : {}) } as RequestInit);
  const type = serialized.headers.get('content-type');
  if (type !== null && !headers.has('content-type')) headers.set('content-type', type);
  if (serialized.body === null) return null;
  return streamed ? serialized.body : Buffer.from(await serialized.arrayBuffer());
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

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
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
