/**
 * A WHATWG `Response` from a node:http `IncomingMessage`, as Node's own fetch would make it: the
 * body streams as it arrives (server-sent events included), and gzip, deflate, brotli and zstd
 * bodies are decoded (the `content-encoding` header stays, as fetch leaves it).
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';

const NULL_BODY = new Set([101, 204, 205, 304]);

/** Whether a response to `method` with `status` has a body at all (fetch's null-body statuses have none). */
export function hasBody(status: number, method: string): boolean {
  return method !== 'HEAD' && !NULL_BODY.has(status);
}

export function toResponse(incoming: IncomingMessage, url: URL, method: string): Response {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = incoming.statusCode ?? 0;
  let body: ReadableStream<Uint8Array> | null = null;
  if (!hasBody(status, method)) {
    incoming.resume();
  } else {
    // From the Headers just built: `incoming.headers` would parse every header a second time.
    const decoder = decoderFor(headers.get('content-encoding') ?? undefined);
    body = webBody(decoder ? pipeline(incoming, decoder, () => undefined) : incoming);
  }
  const response = new Response(body, { status, statusText: incoming.statusMessage ?? '', headers });
  Object.defineProperty(response, 'url', { value: url.href });
  return response;
}

/** How much of a body is buffered ahead of its reader before the socket is paused. */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * A web stream over a Node stream of bytes. `Readable.toWeb` does the same at about twice the
 * cost per response (a `finished()` watcher and a copy of every chunk); here each chunk is handed
 * on as a view of the Buffer it arrived in, so zeroing what a reader got (an error body holding
 * an echo of the key, _redact.ts) zeroes the bytes as received, not a copy.
 */
function webBody(source: Readable): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        source.off('data', onData);
        if (error === undefined) controller.close();
        else controller.error(error);
      };
      const onData = (chunk: Buffer) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) source.pause();
      };
      source.on('data', onData);
      source.once('end', () => finish());
      source.once('error', (error) => finish(error));
      // Closed before its end (a reset connection, a destroyed request) without an error of its own.
      source.once('close', () => {
        if (!done) finish(prematureClose());
      });
    },
    pull() {
      source.resume();
    },
    cancel(reason) {
      done = true;
      source.destroy(reason instanceof Error ? reason : undefined);
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }));
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
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
