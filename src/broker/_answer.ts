/**
 * The provider's answer written to the client: its head, then its body as it arrives (server-sent
 * events reach the client one by one), respecting the client's backpressure. The transport hands
 * over one of two shapes: an answer as node:http received it (its head redacted; its body, an
 * event stream searched as it passes, written on by the transport itself), or a web Response
 * whose body it read and searched for echoes of the key (an error body, an encoded stream).
 */
import type { ServerResponse } from 'node:http';
import type { IncomingAnswer } from '../../adapters/transport/index.ts';
import { clientHeaders } from './_headers.ts';

/**
 * Write `answer` to `res`; resolves once the body is written, rejects if either side broke off,
 * or if node:http refuses the head (a header value it will not send): the client's connection is
 * then cut, and the provider's too.
 */
export function writeAnswer(answer: IncomingAnswer | Response, res: ServerResponse, location: (value: string) => string): Promise<void> {
  const web = answer instanceof Response;
  try {
    if (web) {
      const raw: string[] = [];
      for (const [name, value] of answer.headers) raw.push(name, value);
      // Decoded by the transport when it had an encoding (searched bodies are read as plain bytes).
      res.writeHead(answer.status, answer.statusText, clientHeaders(raw, answer.headers.has('content-encoding'), location));
    } else {
      res.writeHead(answer.status, answer.statusText, clientHeaders(answer.rawHeaders, false, location));
    }
  } catch {
    // Piped into a destroyed `res`, the body is closed at once and the key it held let go.
    res.destroy();
  }
  return web ? pipeWeb(answer, res) : answer.pipe(res);
}

/** A web body (one the transport searched), read and written chunk by chunk. */
async function pipeWeb(response: Response, res: ServerResponse): Promise<void> {
  if (res.destroyed) {
    await response.body?.cancel();
    throw new Error('client closed');
  }
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once('close', () => reader.cancel().catch(() => undefined));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (res.destroyed) throw new Error('client closed');
    if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
  }
  res.end();
}
