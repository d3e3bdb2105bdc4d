/**
 * A WHATWG `Response` from a node:http `IncomingMessage`, as Node's own fetch would make it: the
 * body streams as it arrives (server-sent events included), and gzip, deflate, brotli and zstd
 * bodies are decoded (the `content-encoding` header stays, as fetch leaves it).
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';

const NULL_BODY = new Set([101, 204, 205, 304]);

export function toResponse(incoming: IncomingMessage, url: URL, method: string): Response {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = incoming.statusCode ?? 0;
  let body: ReadableStream<Uint8Array> | null = null;
  if (method === 'HEAD' || NULL_BODY.has(status)) {
    incoming.resume();
  } else {
    const decoder = decoderFor(incoming.headers['content-encoding']);
    const stream: Readable = decoder ? pipeline(incoming, decoder, () => undefined) : incoming;
    body = Readable.toWeb(stream) as ReadableStream<Uint8Array>;
  }
  const response = new Response(body, { status, statusText: incoming.statusMessage ?? '', headers });
  Object.defineProperty(response, 'url', { value: url.href });
  return response;
}

/** Flush what has arrived at once, so streamed events are not held back by the decoder. */
const FLUSH = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };

function decoderFor(encoding: string | undefined): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(FLUSH);
    case 'deflate':
      return zlib.createInflate(FLUSH);
    case 'br':
      return zlib.createBrotliDecompress({
        flush: zlib.constants.BROTLI_OPERATION_FLUSH,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      });
    case 'zstd':
      return 'createZstdDecompress' in zlib ? (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress() : undefined;
    default:
      // identity, or a stack of codings: passed through as they are.
      return undefined;
  }
}
