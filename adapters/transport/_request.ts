/**
 * The one request normalizer, for the vault fetch and the hardened transport alike. It accepts
 * what SDKs pass (a URL string and an init whose headers may be a `Headers`, a plain object as
 * openai v4's node-fetch path sends, or pairs) and what people pass (a `Request`).
 */

export interface NormalizedRequest {
  url: URL;
  /** Upper-cased, so `'patch'` goes out as `PATCH` (fetch itself leaves it lower-case, which servers refuse). */
  method: string;
  /** A copy of its own: safe to change. */
  headers: Headers;
  /** As given (a string, bytes, a stream, FormData …), or the bytes of a `Request`'s body. */
  body: unknown;
  redirect: string;
  /** The rest of init (signal, duplex, dispatcher, node-fetch's agent), passed through untouched. */
  rest: Record<string, unknown>;
}

export async function normalizeRequest(input: string | URL | Request, init: RequestInit | undefined): Promise<NormalizedRequest> {
  // The signal is kept out of `new Request()`, which refuses signals of other realms (polyfills).
  const { headers, body, method, redirect, signal, ...rest } = (init ?? {}) as Record<string, unknown>;
  if (typeof input !== 'string' && !(input instanceof URL) && typeof input?.url === 'string') {
    // A Request alone (as Mistral's and other generated SDKs send) is read as it is, as fetch
    // would read it; with an init, `new Request()` merges the two as fetch does.
    const request = init === undefined && input instanceof Request ? input : new Request(input, { ...init, signal: undefined });
    const bytes = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return {
      url: new URL(request.url),
      method: request.method.toUpperCase(),
      headers: new Headers(request.headers),
      body: bytes,
      redirect: request.redirect,
      rest: { ...rest, signal: signal ?? input.signal },
    };
  }
  return {
    url: new URL(String(input)),
    method: typeof method === 'string' ? method.toUpperCase() : 'GET',
    headers: new Headers((headers ?? undefined) as ConstructorParameters<typeof Headers>[0]),
    body,
    redirect: typeof redirect === 'string' ? redirect : 'follow',
    rest: signal === undefined ? rest : { ...rest, signal },
  };
}

/** A body that can be sent again on a redirect: anything but a stream. */
export function replayable(body: unknown): boolean {
  return typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData;
}

/** A web or Node stream (or any async iterable): sent as it comes (chunked), once, never replayed. */
export function isStreamBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !replayable(body) &&
    (body instanceof ReadableStream || Symbol.asyncIterator in body);
}
