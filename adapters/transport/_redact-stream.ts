/**
 * Echoes that a one-shot redaction of the response head cannot reach:
 *
 * - a server-sent event stream (`text/event-stream`, the SDKs' `stream: true`) is a 200 whose
 *   body runs for minutes, and providers report failures inside it (`event: error`), quoting
 *   what they were sent. Its bytes are searched as they pass: a chunk is handed on at once,
 *   except for a tail that may be the start of an echo cut by the chunk boundary (at most the
 *   escaped key's length), held until the next chunk decides it. The key stays decryptable
 *   until the stream ends, is cancelled or fails (it is decrypted only for each search).
 * - a transport error: a malformed response head is reported by the HTTP parser with the bytes
 *   it choked on (`rawPacket` for node:http, `data` for undici), and an SDK wraps that error as
 *   its own error's cause. Every error of the cause chain loses those fields (a Buffer is zeroed),
 *   and every string property that holds an echo of the key is redacted.
 */
import { secretBytes } from '../../src/_bytes.ts';
import { bytesCode, findEchoes, redactBytes, redactString } from './_echo.ts';
import type { KeyLender } from './_redact.ts';

/** A lender's key kept for a stream: `lend` works until `drop()`. */
export interface HeldKey extends KeyLender {
  drop(): void;
}

/**
 * The search of one event stream, chunk by chunk, whatever carries the chunks (a web stream
 * here, a node:http body in _redact-incoming.ts): each chunk's bytes that can be handed on at
 * once, the tail that may begin an echo held back for the next.
 */
export class EventStreamRedaction {
  #pending: Uint8Array = new Uint8Array(0);
  readonly #held: HeldKey;

  constructor(held: HeldKey) {
    this.#held = held;
  }

  /** What of `chunk` (after the tail held from before) can be handed on now: possibly nothing. */
  push(chunk: Uint8Array): Uint8Array {
    const text = join(this.#pending, chunk);
    const { bytes, partialFrom } = this.#held.lend((key) => redactBytes(text, key));
    if (bytes !== text) text.fill(0);
    // The held tail may be the start of an echo: kept outside the V8 heap (see secretBytes).
    this.#pending = secretBytes(bytes.length - partialFrom);
    this.#pending.set(bytes.subarray(partialFrom));
    return bytes.subarray(0, partialFrom);
  }

  /** `error` made safe to show (see `redactError`): call before `finish`. */
  redactError<T>(error: T): T {
    return this.#held.lend((key) => redactError(error, key));
  }

  /** The stream ended, failed or was cancelled: the held tail (the start of an echo the stream ended inside) goes, and the key is dropped. */
  finish(): void {
    this.#pending.fill(0);
    this.#held.drop();
  }
}

/** `body` (an event stream) with every echo of the key replaced; `held.drop()` once it ends. */
export function redactEventStream(body: ReadableStream<Uint8Array>, held: HeldKey): ReadableStream<Uint8Array> {
  const redaction = new EventStreamRedaction(held);
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await reader.read();
          if (next.done) {
            redaction.finish();
            return controller.close();
          }
          const ready = redaction.push(next.value);
          if (ready.length > 0) return controller.enqueue(ready);
        }
      } catch (error) {
        const redacted = redaction.redactError(error);
        redaction.finish();
        controller.error(redacted);
      }
    },
    async cancel(reason) {
      redaction.finish();
      await reader.cancel(reason);
    },
  });
}

function join(head: Uint8Array, tail: Uint8Array): Uint8Array {
  if (head.length === 0) return tail;
  const out = secretBytes(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  head.fill(0);
  return out;
}

/** Fields in which HTTP parsers keep the raw bytes they received. */
const RAW_FIELDS = ['rawPacket', 'data'] as const;
/** How deep a cause chain is followed. */
const MAX_CAUSES = 8;

/**
 * `error` and its causes (and an AggregateError's errors) made safe to show, in place: the
 * parsers' raw-bytes fields removed, echoes of `key` in string properties redacted. Returns
 * `error`.
 */
export function redactError<T>(error: T, key: Uint8Array): T {
  const seen = new Set<object>();
  const visit = (value: unknown, depth: number): void => {
    if (!value || typeof value !== 'object' || seen.has(value) || depth > MAX_CAUSES) return;
    seen.add(value);
    const target = value as Record<string, unknown>;
    for (const field of RAW_FIELDS) {
      if (!Object.prototype.hasOwnProperty.call(target, field)) continue;
      const raw = target[field];
      if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) continue;
      if (raw instanceof Uint8Array) raw.fill(0);
      try {
        delete target[field];
      } catch {
        // A frozen error keeps the field; it is still searched below.
      }
    }
    for (const name of Object.getOwnPropertyNames(target)) {
      const descriptor = Object.getOwnPropertyDescriptor(target, name);
      if (typeof descriptor?.value === 'string' && descriptor.writable) {
        const redacted = redactString(descriptor.value, key);
        if (redacted !== descriptor.value) target[name] = redacted;
      } else if (descriptor?.value instanceof Uint8Array && findEchoes(bytesCode(descriptor.value), key).spans.length > 0) {
        descriptor.value.fill(0);
      }
    }
    visit(target.cause, depth + 1);
    if (Array.isArray(target.errors)) for (const inner of target.errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return error;
}

