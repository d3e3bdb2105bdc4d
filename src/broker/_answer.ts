/**
 * The provider's answer written to the client: its head, then its body as it arrives (server-sent
 * events reach the client one by one), respecting the client's backpressure. The transport hands
 * over one of two shapes: the usual answer as node:http received it (its head redacted, its body
 * as the socket delivered it), or a web Response whose body it searched for echoes of the key.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { IncomingAnswer } from '../../adapters/transport/index.ts';
import { clientHeaders } from './_headers.ts';

/** Write `answer` to `res`; resolves once the body is written, rejects if either side broke off. */
export function writeAnswer(answer: IncomingAnswer | Response, res: ServerResponse, location: (value: string) => string): Promise<void> {
  if (answer instanceof Response) {
    const raw: string[] = [];
    for (const [name, value] of answer.headers) raw.push(name, value);
    // Decoded by the transport when it had an encoding (searched bodies are read as plain bytes).
    res.writeHead(answer.status, answer.statusText, clientHeaders(raw, answer.headers.has('content-encoding'), location));
    return pipeWeb(answer, res);
  }
  res.writeHead(answer.status, answer.statusText, clientHeaders(answer.rawHeaders, false, location));
  if (answer.body === null) {
    res.end();
    return Promise.resolve();
  }
  return pipeNode(answer.body, res);
}

/** A node:http body, chunk by chunk as received (each a Buffer from the socket: no copy). */
function pipeNode(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body.destroyed) return reject(new Error('the provider closed the connection'));
    const onData = (chunk: Buffer) => {
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const detach = () => {
      body.off('data', onData).off('end', onEnd).off('close', onClose);
      res.off('drain', onDrain).off('close', onClose);
    };
    const onEnd = () => {
      detach();
      res.end();
      resolve();
    };
    // Either side closed before the body's end: the provider's connection (reset, cut), or the client's.
    const onClose = () => {
      detach();
      body.destroy();
      reject(new Error('the answer was cut short'));
    };
    // An error is followed by `close`, which settles; this only keeps it from being thrown.
    body.on('error', () => undefined);
    body.on('data', onData).once('end', onEnd).once('close', onClose);
    res.on('drain', onDrain).once('close', onClose);
  });
}

/** A web body (one the transport searched), read and written chunk by chunk. */
async function pipeWeb(response: Response, res: ServerResponse): Promise<void> {
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
