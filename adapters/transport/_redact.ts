/**
 * Redaction of what the API's origin sends back: servers and gateways echo credentials (a 401
 * body that quotes the `Authorization` header, a `www-authenticate` header naming the token),
 * and an SDK puts that response into its error's message, its debug log and its `headers`. So
 * before a response to a request that carried the key is handed back, every occurrence of the
 * key is replaced with `REDACTED`:
 *
 * - in the header values, the status text and the URL, always (a length check first: a string
 *   shorter than the key cannot hold it, so the key is usually not even decrypted);
 * - in the body of every non-2xx response: its first `MAX_REDACTED_BODY` bytes are read and
 *   searched, and the rest is dropped (an error body that long is no message anyone reads).
 *
 * A 2xx body is passed through as it streams, unsearched: it is the API's answer to the caller's
 * own request (the caller asked for what it holds; credentials are echoed in rejections, not in
 * results), and searching a stream would keep the key decryptable for as long as the stream
 * runs, hold back bytes at chunk boundaries, and cost on every byte of every successful call.
 *
 * Only the key's exact bytes are found: not an encoded form of it (base64; percent- or JSON-
 * escaping, which leave the usual `[A-Za-z0-9_-]` keys as they are), nor a part of it (a
 * provider's own `sk-...abcd` hint). The server's original strings stay in memory until collected.
 *
 * The key is searched as bytes and lent by a `KeyLender` (decrypted into a scratch array that
 * is wiped at once, or the bytes inside `vault.use()`): it never becomes a JS string here.
 */

type ResponseBody = ConstructorParameters<typeof Response>[0];

/** What replaces the key. */
export const REDACTED = '[redacted by agent-vault]';

/** The most of a non-2xx body that is read and searched; the rest is dropped. */
export const MAX_REDACTED_BODY = 1024 * 1024;

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
export async function redactResponse(response: Response, key: KeyLender): Promise<Response> {
  const searchBody = (response.status < 200 || response.status >= 300) && response.body !== null;
  const { minLength } = key;
  // The values long enough to hold the key: usually none, and then the key is not even decrypted.
  let long: string[] | undefined;
  for (const [, value] of response.headers) if (value.length >= minLength) (long ??= []).push(value);
  const statusText = response.statusText ?? '';
  const url = response.url ?? '';
  if (!searchBody && !long && statusText.length < minLength && url.length < minLength) return response;
  // Read before the key is lent: it is decrypted only for the (synchronous) search.
  const prefix = searchBody ? await readPrefix(response.body!, MAX_REDACTED_BODY) : undefined;
  return key.lend((bytes) => {
    const headersChanged = long?.some((value) => redactString(value, bytes) !== value) ?? false;
    const redactedStatusText = redactString(statusText, bytes);
    const redactedUrl = redactString(url, bytes);
    if (!prefix && !headersChanged && redactedStatusText === statusText && redactedUrl === url) return response;
    const headers = new Headers();
    for (const [name, value] of response.headers) headers.append(name, redactString(value, bytes));
    let body: ResponseBody = response.body as ReadableStream<Uint8Array> | null;
    if (prefix) {
      const cut = !prefix.complete || prefix.error !== undefined;
      // A body cut short may end in the first bytes of the key: those go too.
      const kept = cut ? prefix.bytes.subarray(0, prefix.bytes.length - keyPrefixAtEnd(prefix.bytes, bytes)) : prefix.bytes;
      const redacted = redactBytes(kept, bytes);
      if (redacted !== prefix.bytes) headers.delete('content-length');
      body = prefix.error === undefined ? redacted : failingAfter(redacted, prefix.error);
    } else if (body !== null && typeof (body as ReadableStream).getReader !== 'function') {
      body = webStream(body as unknown as AsyncIterable<Uint8Array>); // a node-fetch body (a Node stream)
    }
    return rebuild(response, body, headers, redactedStatusText, redactedUrl);
  });
}

/** `value` with each occurrence of `key` (compared as latin1 bytes, as header values are) replaced. */
function redactString(value: string, key: Uint8Array): string {
  if (key.length === 0 || value.length < key.length) return value;
  let out = '';
  let from = 0;
  for (let at = 0; at <= value.length - key.length;) {
    let matched = 0;
    while (matched < key.length && value.charCodeAt(at + matched) === key[matched]) matched++;
    if (matched === key.length) {
      out += value.slice(from, at) + REDACTED;
      at += key.length;
      from = at;
    } else {
      at++;
    }
  }
  return from === 0 ? value : out + value.slice(from);
}

const REDACTED_BYTES = new TextEncoder().encode(REDACTED);

/** `bytes` with each occurrence of `key` replaced; the same array when there is none. */
function redactBytes(bytes: Uint8Array, key: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let at = indexOf(bytes, key, 0); at !== -1; at = indexOf(bytes, key, from)) {
    parts.push(bytes.subarray(from, at), REDACTED_BYTES);
    from = at + key.length;
  }
  if (from === 0) return bytes;
  parts.push(bytes.subarray(from));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, key: Uint8Array, from: number): number {
  if (key.length === 0) return -1;
  const last = haystack.length - key.length;
  for (let at = haystack.indexOf(key[0]!, from); at !== -1 && at <= last; at = haystack.indexOf(key[0]!, at + 1)) {
    let matched = 1;
    while (matched < key.length && haystack[at + matched] === key[matched]) matched++;
    if (matched === key.length) return at;
  }
  return -1;
}

/** How many bytes at the end of `bytes` are the key's first bytes (less than the whole key). */
function keyPrefixAtEnd(bytes: Uint8Array, key: Uint8Array): number {
  for (let length = Math.min(key.length - 1, bytes.length); length > 0; length--) {
    let matched = 0;
    while (matched < length && bytes[bytes.length - length + matched] === key[matched]) matched++;
    if (matched === length) return length;
  }
  return 0;
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
