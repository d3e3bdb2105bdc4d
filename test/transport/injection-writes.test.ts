/**
 * What an armed socket hands the stream below it, for a request with a body: head and body in
 * one system call (one packet, one wake-up of the server), the key only ever in a Buffer that is
 * zeroed when the write calls back, and on TLS the key's chunk the only one in its write (Node's
 * TLS layer joins several chunks into a buffer it frees unzeroed). Driven through a stand-in
 * socket whose `_write` and `_writev` record what they are given.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { armSocket, type Injection, setInjection } from '../../adapters/transport/_injection.ts';
import { fakeKey } from '../_fixtures/index.ts';

interface Recorded {
  kind: 'write' | 'writev';
  chunks: (Buffer | string)[];
  /** Each chunk's bytes as they were at the moment of the call. */
  text: string[];
  done: (error?: Error | null) => void;
}

function standIn(tls: boolean) {
  const calls: Recorded[] = [];
  const socket = new EventEmitter() as unknown as Socket & EventEmitter;
  const bytes = (chunk: Buffer | string) => (typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
  socket._write = (chunk, _encoding, done) => void calls.push({ kind: 'write', chunks: [chunk], text: [bytes(chunk)], done });
  socket._writev = (chunks, done) => {
    const list = chunks.map((entry) => entry.chunk as Buffer | string);
    calls.push({ kind: 'writev', chunks: list, text: list.map(bytes), done });
  };
  socket.destroy = () => socket;
  armSocket(socket, tls);
  socket.emit(tls ? 'secureConnect' : 'connect');
  return { socket, calls };
}

function injection(key: string): Injection {
  const placeholder = 'P'.repeat(key.length);
  return {
    placeholder: Buffer.from(placeholder, 'latin1'),
    placeholderText: placeholder,
    secret: 'k',
    fill: (target) => target.set(Buffer.from(key, 'latin1')),
  };
}

/** node:http's usual batch for a request with a body: the head as a latin1 string, then the body. */
function requestBatch(placeholder: string, body: Buffer) {
  const head = `POST /v1/chat HTTP/1.1\r\nAuthorization: Bearer ${placeholder}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return { head, chunks: [{ chunk: head, encoding: 'latin1' }, { chunk: body, encoding: 'buffer' }] };
}

function send(tls: boolean, body: Buffer) {
  const key = fakeKey();
  const { socket, calls } = standIn(tls);
  const armed = injection(key);
  setInjection(socket, armed);
  const { head, chunks } = requestBatch(armed.placeholderText, body);
  let calledBack = 0;
  socket._writev!(chunks as never, () => calledBack++);
  return { key, calls, expectedHead: head.replace(armed.placeholderText, key), callbacks: () => calledBack };
}

describe('an injecting write', () => {
  it('on plain TCP: head and body in one writev, the body not copied, the keyed head zeroed on callback', () => {
    const body = Buffer.from('{"model":"m","messages":[]}');
    const { calls, expectedHead, callbacks } = send(false, body);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call!.kind).toBe('writev');
    expect(call!.text).toEqual([expectedHead, body.toString('latin1')]);
    expect(call!.chunks[1]).toBe(body);
    const keyed = call!.chunks[0] as Buffer;
    expect(callbacks()).toBe(0);
    call!.done();
    expect(keyed.every((byte) => byte === 0)).toBe(true);
    expect(callbacks()).toBe(1);
    expect(calls).toHaveLength(1);
  });

  it('on TLS: head and a small body in one chunk of one write, all of it zeroed on callback', () => {
    const body = Buffer.from('{"model":"m","messages":[]}');
    const { calls, expectedHead, callbacks } = send(true, body);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect([call!.kind, call!.text]).toEqual(['write', [expectedHead + body.toString('latin1')]]);
    call!.done();
    expect((call!.chunks[0] as Buffer).every((byte) => byte === 0)).toBe(true);
    expect(callbacks()).toBe(1);
    expect(body.toString()).toBe('{"model":"m","messages":[]}');
  });

  it('on TLS, a body over 64 KiB follows the keyed head in a write of its own, once the head is written and zeroed', () => {
    const body = Buffer.alloc(64 * 1024 + 1, 'b');
    const { calls, expectedHead, callbacks } = send(true, body);
    expect(calls.map((call) => [call.kind, call.text])).toEqual([['write', [expectedHead]]]);
    const keyed = calls[0]!.chunks[0] as Buffer;
    calls[0]!.done();
    expect(keyed.every((byte) => byte === 0)).toBe(true);
    expect(calls).toHaveLength(2);
    expect([calls[1]!.kind, calls[1]!.chunks[0]]).toEqual(['write', body]);
    expect(callbacks()).toBe(0);
    calls[1]!.done();
    expect(callbacks()).toBe(1);
  });

  it('a failed write still zeroes the keyed buffer and reports the error once', () => {
    const { calls, callbacks } = send(false, Buffer.from('body'));
    const keyed = calls[0]!.chunks[0] as Buffer;
    calls[0]!.done(new Error('EPIPE'));
    expect(keyed.every((byte) => byte === 0)).toBe(true);
    expect(callbacks()).toBe(1);
  });
});
