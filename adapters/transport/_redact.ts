/**
 * Redaction of what the API's origin sends back: servers and gateways echo credentials (a 401
 * body that quotes the `Authorization` header, a `www-authenticate` header naming the token, an
 * error event inside a 200 event stream), and an SDK puts that into its error's message, its
 * debug log and its `headers`. So before a response to a request that carried the key is handed
 * back, every occurrence of the key (its bytes, or JSON-escaped: `_key-match.ts`) is replaced
 * with `REDACTED`:
 *
 * - in the header values, the status text and the URL, always (a length check first: a string
 *   shorter than the key cannot hold it);
 * - in the body of every non-2xx response: its first `MAX_REDACTED_BODY` bytes are read and
 *   searched, and the rest is dropped (an error body that long is no message anyone reads);
 * - in a 2xx event stream (`text/event-stream`), as it streams: streams report errors in-band
 *   (an SSE `error` event after the 200), and an SDK throws that event's message. Each chunk is
 *   searched when it arrives and handed on at once, except for a last few bytes that could begin
 *   the key (held until the next chunk shows whether they do). For this the key is kept, masked
 *   (`MaskedKey`), until the stream ends, fails or is cancelled (or, for a stream nobody reads to
 *   the end, until it is collected), then wiped.
 *
 * Any other 2xx body is passed through unsearched: it is the API's answer to the caller's own
 * request, and searching it would keep the key decryptable while it is read and cost on every
 * byte of every successful call.
 *
 * Not found: an encoding other than JSON's (base64, percent-escaping), or a part of the key (a
 * provider's own `sk-...abcd` hint). The server's original strings stay in memory until collected.
 *
 * The key is searched as bytes and lent by a `KeyLender` (decrypted into a scratch array that
 * is wiped at once, or the bytes inside `vault.use()`): it never becomes a JS string here.
 */
import { redactBytes, redactString } from './_key-match.ts';

export { REDACTED } from './_key-match.ts';

type ResponseBody = ConstructorParameters<typeof Response>[0];

/** The most of a non-2xx body that is read and searched; the rest is dropped. */
export const MAX_REDACTED_BODY = 1024 * 1024;

/**
 * Which 2xx bodies are searched as they stream: `'event-streams'` (the default), or `'all'`, for
 * protocols whose errors arrive in a 200 (JSON-RPC, as MCP servers answer).
 */
export type SuccessBodies = 'event-streams' | 'all';

/** The key's bytes, lent for one synchronous search. */
export interface KeyLender {
  /** The key has at least this many bytes: a shorter string cannot hold it. */
  readonly minLength: number;
  /** Call `use` with the key as it was sent (no surrounding whitespace); the bytes are wiped once it returns. */
  lend<T>(use: (key: Uint8Array) => T): T;
}

/**
 * `response` with every occurrence of the key redacted (see this module's comment): the same
 * object when there is nothing to search, else a new Response with the same status and headers.
 */
export async function redactResponse(response: Response, key: KeyLender, successBodies: SuccessBodies = 'event-streams'): Promise<Response> {
  const success = response.status >= 200 && response.status < 300;
  const searchBody = !success && response.body !== null;
  const streamBody = success && response.body !== null && (successBodies === 'all' || isEventStream(response.headers));
  const { minLength } = key;
  // The values long enough to hold the key: usually none.
  let long: string[] | undefined;
  for (const [, value] of response.headers) if (value.length >= minLength) (long ??= []).push(value);
  const statusText = response.statusText ?? '';
  const url = response.url ?? '';
  if (!searchBody && !streamBody && !long && statusText.length < minLength && url.length < minLength) return response;
  // Read before the key is lent: it is decrypted only for the (synchronous) search.
  const prefix = searchBody ? await readPrefix(response.body!, MAX_REDACTED_BODY) : undefined;
  return key.lend((bytes) => {
    const headersChanged = long?.some((value) => redactString(value, bytes) !== value) ?? false;
    const redactedStatusText = redactString(statusText, bytes);
    const redactedUrl = redactString(url, bytes);
    if (!prefix && !streamBody && !headersChanged && redactedStatusText === statusText && redactedUrl === url) return response;
    const headers = new Headers();
    for (const [name, value] of response.headers) headers.append(name, redactString(value, bytes));
    let body: ResponseBody = response.body as ReadableStream<Uint8Array> | null;
    if (prefix) {
      const cut = !prefix.complete || prefix.error !== undefined;
      // A body cut short may end in the first bytes of the key: those go too.
      const redacted = redactBytes(prefix.bytes, bytes, cut).bytes;
      if (redacted !== prefix.bytes) headers.delete('content-length');
      body = prefix.error === undefined ? redacted : failingAfter(redacted, prefix.error);
    } else if (streamBody) {
      body = redactingStream(iterate(response.body!), new MaskedKey(bytes));
    }
    return rebuild(response, body, headers, redactedStatusText, redactedUrl);
  });
}

/**
 * The key, held for as long as a stream runs, XORed with a random pad of its length: between
 * chunks its bytes are nowhere in memory (a scan for them finds nothing; someone who reads both
 * arrays and knows this scheme can undo it, as with the vault's prepared secret). `lend`
 * unmasks it into a scratch array that is wiped once `use` returns.
 */
class MaskedKey {
  readonly #pad: Uint8Array;
  readonly #masked: Uint8Array;

  constructor(key: Uint8Array) {
    const pad = globalThis.crypto.getRandomValues(new Uint8Array(key.length));
    this.#pad = pad;
    this.#masked = key.map((byte, i) => byte ^ pad[i]!);
  }

  lend<T>(use: (key: Uint8Array) => T): T {
    const scratch = this.#masked.map((byte, i) => byte ^ this.#pad[i]!);
    try {
      return use(scratch);
    } finally {
      scratch.fill(0);
    }
  }

  wipe(): void {
    this.#pad.fill(0);
    this.#masked.fill(0);
  }
}

/** Wipes the key of a redacting stream that was dropped unread. */
const dropped = new FinalizationRegistry<MaskedKey>((key) => key.wipe());

/**
 * A body that yields `source`'s bytes with each match of `key` replaced, chunk by chunk. `key` is
 * wiped when the source ends, fails or the body is cancelled.
 */
function redactingStream(source: AsyncIterator<Uint8Array>, key: MaskedKey): ReadableStream<Uint8Array> {
  let held = new Uint8Array(0);
  const token = {};
  const wipe = () => {
    key.wipe();
    dropped.unregister(token);
  };
  const stream: ReadableStream<Uint8Array> = new ReadableStream({
    async pull(controller) {
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await source.next();
        } catch (error) {
          wipe();
          // What was held could begin the key: it is not handed on.
          return controller.error(error);
        }
        if (next.done) {
          const last = key.lend((bytes) => redactBytes(held, bytes).bytes);
          wipe();
          if (last.length > 0) controller.enqueue(last);
          return controller.close();
        }
        const chunk = typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value;
        const data = held.length === 0 ? chunk : concat(held, chunk);
        const { bytes, rest } = key.lend((unmasked) => redactBytes(data, unmasked, true));
        held = data.slice(rest);
        if (bytes.length > 0) return controller.enqueue(bytes);
      }
    },
    async cancel(reason) {
      wipe();
      await source.return?.(reason);
    },
  });
  dropped.register(stream, key, token);
  return stream;
}

function isEventStream(headers: Headers): boolean {
  return /^\s*text\/event-stream\b/i.test(headers.get('content-type') ?? '');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The chunks of a body: a web stream, or a Node stream (node-fetch, for openai 4). */
function iterate(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncIterator<Uint8Array> {
  return typeof (body as ReadableStream).getReader === 'function'
    ? readerIterator((body as ReadableStream<Uint8Array>).getReader())
    : (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
}

interface Prefix {
  bytes: Uint8Array;
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
  const iterator = iterate(body);
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
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, complete, ...(error === undefined ? {} : { error }) };
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
