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
import type { Writable } from 'node:stream';
import { redactString } from './_echo.ts';
import { hasBody, toResponse } from './_http-response.ts';
import { type KeyLender, redactResponse, searchedBody, type SuccessBodies } from './_redact.ts';
import { EventStreamRedaction } from './_redact-stream.ts';

/** A response head redacted, and its body ready to be written on. */
export interface IncomingAnswer {
  readonly status: number;
  readonly statusText: string;
  /** Names and values in turn, as node:http's `rawHeaders`; a header whose name holds the key is left out. */
  readonly rawHeaders: readonly string[];
  /**
   * Write the body to `to` chunk by chunk as it arrives (each chunk the Buffer the socket
   * delivered, not decoded; an event stream's echoes replaced as it passes), respecting `to`'s
   * backpressure, then end `to`. Rejects if either side broke off first; the provider's connection
   * is then closed.
   */
  pipe(to: Writable): Promise<void>;
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
  const redaction = streamed ? new EventStreamRedaction(key.keep()) : undefined;
  const pipe = (to: Writable) => (withBody ? pipeBody(incoming, to, redaction) : endEmpty(to));
  // A string shorter than the key cannot hold it: usually none is as long, and the key is not even decrypted.
  const { minLength } = key;
  let long = statusText.length >= minLength;
  for (let i = 0; i < raw.length && !long; i++) long = raw[i]!.length >= minLength;
  if (!long) return { status, statusText, rawHeaders: raw, pipe };
  return key.lend((bytes) => {
    const rawHeaders: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      // A name cannot be rewritten into a valid one: a header named with the key is dropped.
      if (redactString(raw[i]!, bytes) !== raw[i]) continue;
      rawHeaders.push(raw[i]!, redactString(raw[i + 1]!, bytes));
    }
    return { status, statusText: redactString(statusText, bytes), rawHeaders, pipe };
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

function endEmpty(to: Writable): Promise<void> {
  to.end();
  return Promise.resolve();
}

/**
 * `body` written to `to` as it arrives, through `redaction` when given. By events, without a
 * stream in between: a Transform and `pipeline` cost more per response than the rest of this.
 */
function pipeBody(body: IncomingMessage, to: Writable, redaction: EventStreamRedaction | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const ready = redaction ? redaction.push(chunk) : chunk;
      if (ready.length > 0 && !to.write(ready)) body.pause();
    };
    const onDrain = () => body.resume();
    const detach = () => {
      body.off('data', onData).off('end', onEnd).off('close', onClose);
      to.off('drain', onDrain).off('close', onClose);
      // What is held is the start of an echo the stream ended inside: it goes, and so does the key.
      redaction?.finish();
    };
    const onEnd = () => {
      detach();
      to.end();
      resolve();
    };
    // Either side closed before the body's end: the provider's connection (reset, cut), or the reader's.
    const onClose = () => {
      detach();
      body.destroy();
      reject(new Error('the answer was cut short'));
    };
    if (body.destroyed || to.destroyed) return onClose();
    // An error is followed by `close`, which settles; this only keeps it from being thrown.
    body.on('error', () => undefined);
    body.on('data', onData).once('end', onEnd).once('close', onClose);
    to.on('drain', onDrain).once('close', onClose);
  });
}
