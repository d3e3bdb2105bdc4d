/**
 * Key injection at the socket: the provider key never becomes a JS string.
 *
 * The request head that node:http builds carries a one-time placeholder of the key's exact
 * length. Every socket of the hardened transport is armed here: when a write batch (one write,
 * or a corked `writev`) holds the placeholder of the injection set on that socket, the batch up
 * to that chunk is copied into one Buffer we own, the key is decrypted straight into the
 * placeholder's bytes, that Buffer is written as a single chunk, and it is zeroed in the write
 * callback (or when the socket closes, whichever comes first).
 *
 * One chunk matters on TLS: given several, Node's TLS layer first concatenates them into a
 * buffer it frees without zeroing. And a TLS write before the handshake completes is copied
 * (unzeroed) until it can be encrypted, so the injecting write waits for `secureConnect` (and on
 * plain TCP for `connect`: the key is decrypted only once it can leave at once). OpenSSL encrypts
 * records in place, so after the write no plaintext copy remains in the process.
 */
import type { Socket } from 'node:net';
import { secretBytes } from '../../src/_bytes.ts';
import { UsageError } from '../../src/errors.ts';
import { checkHeaderValue, trimSpace } from './_key-bytes.ts';

/** What a socket needs to put one key in: set per request, consumed by the first write holding it. */
export interface Injection {
  /** The one-time placeholder (ASCII, exactly the stored key's length) as bytes. */
  readonly placeholder: Buffer;
  /** The same placeholder as text, to look for it in a string chunk without decoding it each time. */
  readonly placeholderText: string;
  /** The secret's name, for error messages. */
  readonly secret: string;
  /** Write the stored key over `target` (exactly `placeholder.length` bytes), synchronously. */
  fill(target: Uint8Array): void;
  /** Told the key's length as written (surrounding whitespace dropped), so its echo can be looked for cheaply. */
  placed?(length: number): void;
}

interface WriteChunk {
  chunk: Buffer | string;
  encoding: BufferEncoding | 'buffer';
}

type WriteCallback = (error?: Error | null) => void;

/** Shorter keys would make a placeholder that might also occur elsewhere in a request head. */
export const MIN_KEY_LENGTH = 16;

const injections = new WeakMap<Socket, Injection>();

/** From now on, the next write batch on `socket` holding `injection.placeholder` gets the key. */
export function setInjection(socket: Socket, injection: Injection): void {
  injections.set(socket, injection);
}

/** Forget `injection` on `socket` if it is still pending there (the request ended without it). */
export function clearInjection(socket: Socket, injection: Injection): void {
  if (injections.get(socket) === injection) injections.delete(socket);
}

/**
 * Arm a freshly created socket. `tls`: a TLS client socket, whose handshake must be done before
 * an injecting write (a TCP socket must be connected).
 */
export function armSocket(socket: Socket, tls: boolean): void {
  const write = socket._write;
  const writev = socket._writev;
  const readyEvent = tls ? 'secureConnect' : 'connect';
  let ready = false;
  socket.once(readyEvent, () => (ready = true));
  // Buffers holding a key that the stream has not yet called back for.
  const owned = new Set<Buffer>();
  socket.once('close', () => {
    for (const buffer of owned) buffer.fill(0);
    owned.clear();
  });

  const passThrough = (chunks: WriteChunk[], callback: WriteCallback): void => {
    if (chunks.length === 1) write.call(socket, chunks[0]!.chunk, chunks[0]!.encoding as BufferEncoding, callback);
    else writev!.call(socket, chunks as Parameters<NonNullable<Socket['_writev']>>[0], callback);
  };

  const intercept = (chunks: WriteChunk[], callback: WriteCallback): void => {
    const injection = injections.get(socket);
    const at = injection ? chunks.findIndex((chunk) => holds(chunk, injection)) : -1;
    if (!injection || at === -1) return passThrough(chunks, callback);
    if (!ready) return whenReady(socket, readyEvent, () => intercept(chunks, callback), callback);
    injections.delete(socket);

    const head = chunks.slice(0, at + 1);
    const rest = chunks.slice(at + 1);
    let buffer: Buffer;
    let length: number;
    try {
      buffer = concatOwned(head);
      // Search only the last chunk (the one found to hold it), and only its head part.
      const from = buffer.length - byteLength(head[head.length - 1]!);
      const starts = findPlaceholders(buffer, from, injection.placeholder);
      owned.add(buffer);
      length = buffer.length;
      // From the last to the first, so that moving bytes left (trimming) keeps earlier offsets.
      for (const start of starts.reverse()) length = injectKey(buffer, length, start, injection);
    } catch (error) {
      for (const pending of owned) pending.fill(0);
      socket.destroy(error as Error);
      return callback(error as Error);
    }
    write.call(socket, buffer.subarray(0, length), 'buffer' as BufferEncoding, (error) => {
      buffer.fill(0);
      owned.delete(buffer);
      if (error || rest.length === 0) return callback(error);
      passThrough(rest, callback);
    });
  };

  socket._write = (chunk, encoding, callback) => intercept([{ chunk, encoding }], callback);
  socket._writev = (chunks, callback) => intercept(chunks as WriteChunk[], callback);
}

/** Run `next` once the socket is connected (TLS: secured); fail `callback` if it closes first. */
function whenReady(socket: Socket, event: 'connect' | 'secureConnect', next: () => void, callback: WriteCallback): void {
  const onReady = () => {
    socket.off('close', onClose);
    next();
  };
  const onClose = () => {
    socket.off(event, onReady);
    callback(new Error('The connection closed before it was established.'));
  };
  socket.once(event, onReady);
  socket.once('close', onClose);
}

function holds({ chunk, encoding }: WriteChunk, injection: Injection): boolean {
  if (typeof chunk !== 'string') return chunk.indexOf(injection.placeholder) !== -1;
  // The placeholder is ASCII: it reads the same in every ASCII-compatible encoding.
  return ASCII_COMPATIBLE.has(encoding) && chunk.includes(injection.placeholderText);
}

const ASCII_COMPATIBLE = new Set<string>(['latin1', 'binary', 'ascii', 'utf8', 'utf-8']);

function byteLength({ chunk, encoding }: WriteChunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding as BufferEncoding) : chunk.length;
}

/**
 * One Buffer with its own memory, holding every chunk in order: not from the shared pool (whose
 * slices outlive us), and outside the V8 heap whatever its size (see `secretBytes`).
 */
function concatOwned(chunks: WriteChunk[]): Buffer {
  const owned = secretBytes(chunks.reduce((sum, chunk) => sum + byteLength(chunk), 0));
  const buffer = Buffer.from(owned.buffer, owned.byteOffset, owned.length);
  let offset = 0;
  for (const { chunk, encoding } of chunks) {
    offset += typeof chunk === 'string' ? buffer.write(chunk, offset, encoding as BufferEncoding) : chunk.copy(buffer, offset);
  }
  return buffer;
}

/**
 * Where the placeholder is, inside the request head only (before the blank line), so nothing in
 * a body is ever replaced. Usually once; every header that carries it gets the key.
 */
function findPlaceholders(buffer: Buffer, from: number, placeholder: Buffer): number[] {
  const headEnd = buffer.indexOf('\r\n\r\n', from, 'latin1');
  const end = headEnd === -1 ? buffer.length : headEnd;
  const starts: number[] = [];
  for (let at = buffer.indexOf(placeholder, from); at !== -1 && at + placeholder.length <= end; at = buffer.indexOf(placeholder, at + placeholder.length)) {
    starts.push(at);
  }
  if (starts.length === 0) {
    throw new UsageError(
      'agent-vault could not place the API key: its placeholder was not in the request head. ' +
        "Retry; if it persists, use transport: 'standard' and report it.",
    );
  }
  return starts;
}

/**
 * Decrypt the key over the placeholder at `start` in the first `length` bytes of `buffer`;
 * returns the new length. Whitespace around a stored key (a trailing newline) is dropped by
 * moving the rest left; anything else outside visible ASCII is refused: it cannot be a header.
 */
function injectKey(buffer: Buffer, length: number, start: number, injection: Injection): number {
  const size = injection.placeholder.length;
  const slot = buffer.subarray(start, start + size);
  injection.fill(slot);
  const key = trimSpace(slot);
  checkHeaderValue(key, injection.secret);
  injection.placed?.(key.length);
  const lead = key.byteOffset - slot.byteOffset;
  const trimmed = size - key.length;
  if (trimmed === 0) return length;
  buffer.copyWithin(start, start + lead, start + lead + key.length);
  buffer.copyWithin(start + key.length, start + size, length);
  buffer.fill(0, length - trimmed, length);
  return length - trimmed;
}
