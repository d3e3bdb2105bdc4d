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
import type { KeyLender } from './_redact.ts';
import { type IncomingAnswer, redactIncoming } from './_redact-incoming.ts';
import { isStreamBody, normalizeRequest } from './_request.ts';

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

/** `sendNode`'s hop: a body node:http sends as it is, and no signal (`cancel` instead). */
export interface NodeHop extends Omit<OutgoingHop, 'body' | 'signal'> {
  body: Buffer | Readable | null;
}

/** An exchange under way: the redacted answer once its head has come, and how to stop it. */
export interface NodeExchange {
  readonly answer: Promise<IncomingAnswer | Response>;
  /** Destroy the request (and the response, once it has come); `answer` rejects with `reason` if still pending. */
  cancel(reason: Error): void;
}

/** One request as the vault fetch hands it over: parsed, headers as node:http takes them. */
export interface OutgoingHop {
  url: URL;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: unknown;
  signal?: AbortSignal | undefined;
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
    const { text: placeholder, bytes } = oneTimePlaceholder(source.length);
    let keyLength: number | undefined;
    const injection: Injection = {
      placeholder: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
      placeholderText: placeholder,
      secret,
      fill: (target) => source.decryptInto(target),
      placed: (length) => (keyLength = length),
    };
    this.#armed.set(placeholder, { origin: originOf(origin), injection });
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

  /**
   * One hop the vault fetch has already normalized (`headers` lower-case, as it built them): the
   * same as `fetch` without parsing the request a second time, or searching every header for an
   * armed placeholder. `keyed`: the placeholder of the key to put in, which the vault fetch put
   * into `headers`; it goes in only while armed, and only for the origin it was armed for.
   */
  readonly send = async (hop: OutgoingHop, keyed: string | undefined): Promise<Response> => {
    const { signal } = hop;
    if (signal?.aborted) throw abortReason(signal);
    const { body, contentType } = await socketBody(hop.url, hop.method, hop.headers['content-type'] !== undefined, hop.body);
    const headers = contentType === undefined ? hop.headers : { ...hop.headers, 'content-type': contentType };
    const url = hop.url;
    return this.#send(url, hop.method, outgoingHeaders(headers, hop.method, body), this.#injection(keyed, url), body, signal,
      (incoming) => toResponse(incoming, url, hop.method)).answer;
  };

  /**
   * The same as `send` for a body node:http takes as it is (bytes, a Node stream, or none), for
   * a caller that writes the answer to a socket of its own (the broker): the response comes as
   * node:http gave it, its echoes of `key` redacted (_redact-incoming.ts), with no web
   * `Response` built and taken apart again unless its body must be searched. `cancel` stops the
   * exchange, before or after the answer has come: cheaper than an AbortSignal per request.
   */
  readonly sendNode = (hop: NodeHop, keyed: string | undefined, key: KeyLender): NodeExchange => {
    const { url, method } = hop;
    const exchange = this.#send(url, method, outgoingHeaders(hop.headers, method, hop.body), this.#injection(keyed, url), hop.body,
      undefined, (incoming) => incoming);
    return { answer: exchange.answer.then((incoming) => redactIncoming(incoming, url, method, key)), cancel: exchange.cancel };
  };

  /** The injection of the key armed as `keyed`, if it is armed for `url`'s origin. */
  #injection(keyed: string | undefined, url: URL): Injection | undefined {
    const armed = keyed === undefined ? undefined : this.#armed.get(keyed);
    return armed?.origin === url.origin ? armed.injection : undefined;
  }

  /** Close every pooled connection. */
  close(): void {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }

  async #fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const { url, method, headers, body: given, rest } = await normalizeRequest(input, init);
    const signal = (rest.signal ?? undefined) as AbortSignal | undefined;
    if (signal?.aborted) throw abortReason(signal);
    const { body, contentType } = await socketBody(url, method, headers.has('content-type'), given);
    if (contentType !== undefined) headers.set('content-type', contentType);
    const outgoing: Record<string, string> = {};
    for (const [name, value] of headers) outgoing[name] = value;
    let injection: Injection | undefined;
    for (const value of Object.values(outgoing)) {
      const armed = this.#armedIn(value);
      if (armed?.origin === url.origin) injection = armed.injection;
    }
    return this.#send(url, method, outgoingHeaders(outgoing, method, body), injection, body, signal,
      (incoming) => toResponse(incoming, url, method)).answer;
  }

  #armedIn(value: string): { origin: string; injection: Injection } | undefined {
    if (this.#armed.size === 0) return undefined;
    for (const token of value.split(/[\s,;:=]+/)) {
      const armed = this.#armed.get(token);
      if (armed) return armed;
    }
    return undefined;
  }

  /** One exchange: `answer` makes what the caller gets of the node:http response (a web Response, or itself). */
  #send<T>(
    url: URL, method: string, outgoing: Record<string, string>, injection: Injection | undefined,
    body: SocketBody, signal: AbortSignal | undefined, answer: (incoming: http.IncomingMessage) => T,
  ): { answer: Promise<T>; cancel(reason: Error): void } {
    // Replaced once the request exists; if building it threw, there is nothing to stop.
    let cancel: (reason: Error) => void = () => undefined;
    const answered = new Promise<T>((resolve, reject) => {
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
      cancel = (reason) => {
        request.destroy(reason);
        response?.destroy(reason);
        reject(reason);
      };
      const onAbort = () => cancel(abortReason(signal!) as Error);
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
          resolve(answer(incoming));
        } catch (error) {
          incoming.destroy();
          reject(error);
        }
      });
      if (body === null) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else {
        (body instanceof Readable ? body : Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>))
          .on('error', (error) => request.destroy(error))
          .pipe(request);
      }
    });
    return { answer: answered, cancel };
  }
}

/**
 * The body as node:http sends it: bytes (a string, bytes: the usual case, which skips building a
 * Request, costlier than the rest of sending one), a stream (sent chunked), or what
 * `new Request()` makes of the rest (a Blob, FormData, URLSearchParams), with the content-type
 * it implies when the request names none. A body on GET or HEAD is refused there, as fetch
 * refuses it.
 */
async function socketBody(
  url: URL, method: string, typed: boolean, body: unknown,
): Promise<{ body: SocketBody; contentType?: string }> {
  if (body === undefined || body === null) return { body: null };
  // A Node stream (the broker's request body, `send` only) is piped as it is: no web stream around it.
  if (body instanceof Readable && method !== 'GET' && method !== 'HEAD') return { body };
  if (method !== 'GET' && method !== 'HEAD') {
    if (typeof body === 'string') return { body: Buffer.from(body), ...(typed ? {} : { contentType: 'text/plain;charset=UTF-8' }) };
    if (ArrayBuffer.isView(body)) return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
    if (body instanceof ArrayBuffer) return { body: Buffer.from(body) };
  }
  const streamed = isStreamBody(body);
  const serialized = new Request(url, { method, body, ...(streamed ? { duplex: 'half' } : {}) } as RequestInit);
  const type = serialized.headers.get('content-type');
  const contentType = type !== null && !typed ? { contentType: type } : {};
  if (serialized.body === null) return { body: null, ...contentType };
  return { body: streamed ? serialized.body : Buffer.from(await serialized.arrayBuffer()), ...contentType };
}

/** Headers as node:http takes them (a copy), with what fetch adds by default and the body's framing. */
/** A request body as it goes to the socket: bytes, a stream (sent chunked unless its length is declared), or none. */
type SocketBody = Buffer | ReadableStream<Uint8Array> | Readable | null;

function outgoingHeaders(headers: Record<string, string>, method: string, body: SocketBody): Record<string, string> {
  const out: Record<string, string> = { ...headers };
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

/** The origin of `value` (an origin or a URL), remembered: a process talks to a handful of APIs. */
function originOf(value: string): string {
  let origin = origins.get(value);
  if (origin === undefined) {
    origin = new URL(value).origin;
    if (origins.size >= 256) origins.clear();
    origins.set(value, origin);
  }
  return origin;
}

const origins = new Map<string, string>();

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
