/**
 * Redaction of a node:http response, for a caller that writes it to a socket of its own (the
 * broker), without building a web `Response` it would only take apart again.
 *
 * The rule is `redactResponse`'s (_redact.ts), applied through the same pieces: the head is
 * always searched (header names and values, and the status text, with the one matcher of
 * _echo.ts); a body that `searchedBody` says is searched (a non-2xx, an event stream) goes the
 * web Response way itself, decoded and redacted by `redactResponse`. What stays here is the
 * usual answer, a 2xx that is not an event stream: its head redacted, its body handed on as the
 * socket delivers it, not decoded (the caller forwards `content-encoding` with it).
 */
import type { IncomingMessage } from 'node:http';
import { redactString } from './_echo.ts';
import { hasBody, toResponse } from './_http-response.ts';
import { type KeyLender, redactResponse, searchedBody, type SuccessBodies } from './_redact.ts';

/** A response head redacted, and its body as received. */
export interface IncomingAnswer {
  readonly status: number;
  readonly statusText: string;
  /** Names and values in turn, as node:http's `rawHeaders`; a header whose name holds the key is left out. */
  readonly rawHeaders: readonly string[];
  /** The body as the server sent it (not decoded), or null when the response has none (it is drained). */
  readonly body: IncomingMessage | null;
}

/**
 * `incoming` with every echo of the key redacted: an `IncomingAnswer` when its body is not
 * searched, else the web Response `redactResponse` makes of it.
 */
export async function redactIncoming(
  incoming: IncomingMessage, url: URL, method: string, key: KeyLender, successBodies?: SuccessBodies,
): Promise<IncomingAnswer | Response> {
  const status = incoming.statusCode ?? 0;
  const raw = incoming.rawHeaders;
  const withBody = hasBody(status, method);
  if (withBody && searchedBody(status, contentType(raw), successBodies) !== undefined) {
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
  const body = withBody ? incoming : null;
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

/** The content-type of raw headers, without node:http parsing every header into `incoming.headers`. */
function contentType(raw: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === 12 && raw[i]!.toLowerCase() === 'content-type') return raw[i + 1];
  }
  return undefined;
}
