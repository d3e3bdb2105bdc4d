/**
 * Redaction of a node:http response, for a caller that writes it to a socket of its own (the
 * broker), without building a web `Response` it would only take apart again.
 *
 * The rule is `redactResponse`'s (_redact.ts), applied through the same pieces: the head is
 * always searched (header names and values, and the status text, with the one matcher of
 * _echo.ts); an event stream is searched as it passes (the same search as _redact-stream.ts,
 * over node streams); any other body that `searchedBody` says is searched (a non-2xx, an
 * encoded event stream) goes the web Response way itself, decoded and redacted by
 * `redactResponse`. The usual answer, a 2xx that is not an event stream, has only its head
 * redacted: its body is handed on as the socket delivers it, not decoded (the caller forwards
 * `content-encoding` with it).
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable, Transform } from 'node:stream';
import { redactString } from './_echo.ts';
import { hasBody, toResponse } from './_http-response.ts';
import { type KeyLender, redactResponse, searchedBody, type SuccessBodies } from './_redact.ts';
import { EventStreamRedaction, type HeldKey } from './_redact-stream.ts';

/** A response head redacted, and its body as received. */
export interface IncomingAnswer {
  readonly status: number;
  readonly statusText: string;
  /** Names and values in turn, as node:http's `rawHeaders`; a header whose name holds the key is left out. */
  readonly rawHeaders: readonly string[];
  /**
   * The body as the server sent it (not decoded; an event stream with its echoes replaced as it
   * passes), or null when the response has none (it is drained).
   */
  readonly body: Readable | null;
}

/**
 * `incoming` with every echo of the key redacted: an `IncomingAnswer` when its body is not
 * searched, else the web Response `redactResponse` makes of it.
 */
export async function redactIncoming(
  incoming: IncomingMessage, url: URL, method: string, key: KeyLender, successBodies?: SuccessBodies,
): Promise<IncomingAnswer | Response> {
  const status = incoming.statusCode ?? 0;
  let raw = incoming.rawHeaders;
  const withBody = hasBody(status, method);
  const searched = withBody ? searchedBody(status, rawHeader(raw, 'content-type'), successBodies) : undefined;
  // An event stream sent as it is (not encoded: the broker asks for identity) is searched here as
  // it passes; anything else searched is read and decoded the web Response way.
  const streamed = searched === 'streamed' && rawHeader(raw, 'content-encoding') === undefined;
  if (searched !== undefined && !streamed) {
    let response: Response;
    try {
      response = toResponse(incoming, url, method);
    } catch (error) {
      incoming.destroy(); // a status a web Response cannot have (600 and up)
      throw error;
    }
    return redactResponse(response, key, successBodies);
  }
  if (!withBody) incoming.resume();
  const statusText = incoming.statusMessage ?? '';
  // A redacted event stream has another length than the one declared.
  if (streamed && rawHeader(raw, 'content-length') !== undefined) raw = raw.filter((_, i) => !isName(raw, i, 'content-length'));
  const body = !withBody ? null : streamed ? redactedEvents(incoming, key.keep()) : incoming;
  // A string shorter than the key cannot hold it: usually none is as long, and the key is not even decrypted.
  const { minLength } = key;
  let long = statusText.length >= minLength;
  for (let i = 0; i < raw.length && !long; i++) long = raw[i]!.length >= minLength;
  if (!long) return { status, statusText, rawHeaders: raw, body };
  return key.lend((bytes) => {
    const rawHeaders: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      // A name cannot be rewritten into a valid one: a header named with the key is dropped.
      if (redactString(raw[i]!, bytes) !== raw[i]) continue;
      rawHeaders.push(raw[i]!, redactString(raw[i + 1]!, bytes));
    }
    return { status, statusText: redactString(statusText, bytes), rawHeaders, body };
  });
}

/** A header's value from raw headers (the first), without node:http parsing every header into `incoming.headers`. */
function rawHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (isName(raw, i, name)) return raw[i + 1];
  return undefined;
}

/** Whether the entry at `i` of raw headers is the name `lower` (given in lower case). */
function isName(raw: readonly string[], i: number, lower: string): boolean {
  return i % 2 === 0 && raw[i]!.length === lower.length && raw[i]!.toLowerCase() === lower;
}

/**
 * An event stream's body with every echo of the key replaced as it passes (the search of
 * _redact-stream.ts, over node streams); the key is dropped once the body ends, fails or is destroyed.
 */
function redactedEvents(incoming: IncomingMessage, held: HeldKey): Readable {
  const redaction = new EventStreamRedaction(held);
  const redacted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const ready = redaction.push(chunk);
      callback(null, ready.length > 0 ? ready : undefined);
    },
  });
  redacted.once('close', () => redaction.finish());
  // Either side failing destroys the other: a provider's cut reaches the reader as an error, a
  // reader that goes away closes the provider's connection.
  pipeline(incoming, redacted, () => undefined);
  return redacted;
}
