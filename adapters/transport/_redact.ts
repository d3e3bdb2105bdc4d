/**
 * Redaction of what the API's origin sends back: servers and gateways echo credentials (a 401
 * body that quotes the `Authorization` header, a `www-authenticate` header naming the token),
 * and an SDK puts that response into its error's message, its debug log and its `headers`. So
 * before a response to a request that carried the key is handed back, every occurrence of the
 * key is replaced with `REDACTED`:
 *
 * - in the header names and values, the status text and the URL, always (a length check first: a string
 *   shorter than the key cannot hold it, so the key is usually not even decrypted);
 * - in the body of every non-2xx response: its first `MAX_REDACTED_BODY` bytes are read and
 *   searched, and the rest is dropped (an error body that long is no message anyone reads).
 *
 * - in a server-sent event stream (`text/event-stream`, even a 200), as it passes: providers
 *   report failures inside a stream (`event: error`) and quote what they were sent
 *   (_redact-stream.ts);
 * - in a transport error's cause chain (a malformed head echoed back), in _redact-stream.ts too.
 *
 * Any other 2xx body is passed through as it streams, unsearched: it is the API's answer to the
 * caller's own request (credentials are echoed in rejections, not in results), and searching it
 * would cost on every byte of every successful call.
 *
 * An echo is the key's bytes, or the key JSON-`\u`-escaped or percent-encoded (_echo.ts says
 * which forms and why not base64); not a part of it (a provider's own `sk-...abcd` hint). A body
 * found to hold an echo is zeroed as received; header strings stay in memory until collected.
 *
 * The key is searched as bytes and lent by a `KeyLender` (decrypted into a scratch array that
 * is wiped at once, or the bytes inside `vault.use()`): it never becomes a JS string here.
 */

import { concatBytes } from '../../src/_bytes.ts';
import { redactBytes, redactString } from './_echo.ts';
import { type HeldKey, redactError, redactEventStream } from './_redact-stream.ts';

type ResponseBody = ConstructorParameters<typeof Response>[0];

export { REDACTED } from './_echo.ts';

/** The most of a non-2xx body that is read and searched; the rest is dropped. */
export const MAX_REDACTED_BODY = 1024 * 1024;

/** The key's bytes, lent for one synchronous search. */
export interface KeyLender {
  /** The key has at least this many bytes: a shorter string cannot hold it. */
  readonly minLength: number;
  /** Call `use` with the key as it was sent (no surrounding whitespace); the bytes are wiped once it returns. */
  lend<T>(use: (key: Uint8Array) => T): T;
  /** Keep the key lendable past this call, for a streamed body, until the returned key is dropped. */
  keep(): HeldKey;
}

/**
 * `response` with every occurrence of the key redacted (see this module's comment): the same
 * object when there is nothing to search, else a new Response with the same status and headers.
 */
/**
 * Which 2xx bodies are searched as they stream: event streams (the default: providers report
 * errors inside them), or `'all'`, for protocols that answer errors with a 200 (MCP's JSON-RPC).
 */
export type SuccessBodies = 'event-streams' | 'all';

export async function redactResponse(
  response: Response,
  key: KeyLender,
  successBodies: SuccessBodies = 'event-streams',
): Promise<Response> {
  const searched = response.body === null ? undefined : searchedBody(response.status, response.headers.get('content-type'), successBodies);
  const searchBody = searched === 'whole';
  const { minLength } = key;
  // The names and values long enough to hold the key: usually none, and then the key is not even decrypted.
  let long: string[] | undefined;
  for (const [name, value] of response.headers) {
    if (value.length >= minLength) (long ??= []).push(value);
    if (name.length >= minLength) (long ??= []).push(name);
  }
  const statusText = response.statusText ?? '';
  const url = response.url ?? '';
  const eventStream = searched === 'streamed';
  if (!searchBody && !eventStream && !long && statusText.length < minLength && url.length < minLength) return response;
  // Read before the key is lent: it is decrypted only for the (synchronous) search.
  const prefix = searchBody ? await readPrefix(response.body!, MAX_REDACTED_BODY) : undefined;
  return key.lend((bytes) => {
    const headersChanged = long?.some((value) => redactString(value, bytes) !== value) ?? false;
    const redactedStatusText = redactString(statusText, bytes);
    const redactedUrl = redactString(url, bytes);
    if (!prefix && !eventStream && !headersChanged && redactedStatusText === statusText && redactedUrl === url) return response;
    const headers = new Headers();
    for (const [name, value] of response.headers) {
      // A name cannot be rewritten into a valid one: a header named with the key is dropped.
      if (redactString(name, bytes) === name) headers.append(name, redactString(value, bytes));
    }
    let body: ResponseBody = response.body as ReadableStream<Uint8Array> | null;
    if (prefix) {
      const cut = !prefix.complete || prefix.error !== undefined;
      const found = redactBytes(prefix.bytes, bytes);
      // A body cut short may end in the first bytes of an echo: those go too.
      const redacted = cut ? found.bytes.subarray(0, found.partialFrom) : found.bytes;
      if (redacted !== prefix.bytes) {
        headers.delete('content-length');
        // The body as received holds an echo: zero it (the chunks came from the socket, and the copy is ours).
        if (found.bytes !== prefix.bytes) for (const chunk of [...prefix.chunks, prefix.bytes]) chunk.fill(0);
      }
      body = prefix.error === undefined ? redacted : failingAfter(redacted, redactError(prefix.error, bytes));
    } else if (body !== null && typeof (body as ReadableStream).getReader !== 'function') {
      body = webStream(body as unknown as AsyncIterable<Uint8Array>); // a node-fetch body (a Node stream)
    }
    if (eventStream) body = redactEventStream(body as ReadableStream<Uint8Array>, key.keep());
    return rebuild(response, body, headers, redactedStatusText, redactedUrl);
  });
}

/**
 * How the body of a response with this status and content type is searched for echoes (see this
 * module's comment): `'whole'` (a non-2xx: its prefix read and searched), `'streamed'` (an event
 * stream, searched as it passes: a 200 that reports failures inside it, _redact-stream.ts), or
 * not at all (undefined). The one rule, for the web Response path and the broker's node:http path.
 */
export function searchedBody(status: number, contentType: string | null | undefined, successBodies: SuccessBodies = 'event-streams'): 'whole' | 'streamed' | undefined {
  if (status < 200 || status >= 300) return 'whole';
  return successBodies === 'all' || /^\s*text\/event-stream/i.test(contentType ?? '') ? 'streamed' : undefined;
}

interface Prefix {
  bytes: Uint8Array;
  /** The chunks as read, which `bytes` copies. */
  chunks: Uint8Array[];
  /** The whole body was read. */
  complete: boolean;
  /** Reading failed (a reset connection, an abort): the body handed back fails the same way after these bytes. */
  error?: unknown;
}

/** Up to `limit` bytes of a body (a web stream, or a Node stream from node-fetch); the rest is cancelled. */
async function readPrefix(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, limit: number): Promise<Prefix> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  let error: unknown;
  const iterator = typeof (body as ReadableStream).getReader === 'function'
    ? readerIterator((body as ReadableStream<Uint8Array>).getReader())
    : (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const chunk = typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value;
      chunks.push(chunk.subarray(0, limit - size));
      size += Math.min(chunk.length, limit - size);
      if (size >= limit) {
        complete = false;
        await iterator.return?.();
        break;
      }
    }
  } catch (caught) {
    error = caught;
  }
  return { bytes: concatBytes(...chunks), chunks, complete, ...(error === undefined ? {} : { error }) };
}

function readerIterator(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncIterator<Uint8Array> {
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      await reader.cancel().catch(() => undefined);
      return { done: true, value: undefined };
    },
  };
}

/** A body that yields `bytes`, then fails with `error`, as the original did. */
function failingAfter(bytes: Uint8Array, error: unknown): ReadableStream<Uint8Array> {
  let sent = bytes.length === 0;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.error(error);
      sent = true;
      controller.enqueue(bytes);
    },
  });
}

/** A web stream over an async iterable of bytes. */
function webStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

/** A Response like `original` (status, url, redirected) with the given body, headers and status text. */
function rebuild(original: Response, body: ResponseBody, headers: Headers, statusText: string, url: string): Response {
  const { status } = original;
  // The constructor takes 200 to 599 only; fetch can hand back others (a bare 1xx or a custom code).
  const inRange = status >= 200 && status <= 599;
  const response = new Response(body, { status: inRange ? status : 599, statusText, headers });
  if (!inRange) {
    Object.defineProperty(response, 'status', { value: status });
    Object.defineProperty(response, 'ok', { value: false });
  }
  if (url) Object.defineProperty(response, 'url', { value: url });
  if (original.redirected) Object.defineProperty(response, 'redirected', { value: true });
  return response;
}
