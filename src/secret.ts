import { UsageError } from './errors.ts';
import { utf8, wipe } from './crypto.ts';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * Decrypted secret bytes that this library owns and wipes. Printing, string interpolation and
 * JSON serialisation show a placeholder, never the value; `text()` makes the one string a
 * caller asks for (strings cannot be wiped, so prefer `bytes`).
 */
export class SecretBuffer {
  #bytes: Uint8Array | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** The secret bytes, valid until `wipe()`; do not keep a reference. */
  get bytes(): Uint8Array {
    if (!this.#bytes) throw wiped();
    return this.#bytes;
  }

  get length(): number {
    return this.#bytes?.length ?? 0;
  }

  get wiped(): boolean {
    return this.#bytes === undefined;
  }

  /** Decode as UTF-8. The returned string cannot be wiped: keep it no longer than needed. */
  text(): string {
    return utf8.decode(this.bytes);
  }

  /** Zero the bytes; later access throws. Safe to call twice. */
  wipe(): void {
    wipe(this.#bytes);
    this.#bytes = undefined;
  }

  [Symbol.dispose](): void {
    this.wipe();
  }

  toString(): string {
    return '[SecretBuffer]';
  }

  toJSON(): string {
    return '[SecretBuffer]';
  }

  [inspectSymbol](): string {
    return `SecretBuffer <${this.wiped ? 'wiped' : `${this.length} bytes`}>`;
  }
}

function wiped(): UsageError {
  return new UsageError(
    'This SecretBuffer was wiped when its use() callback settled. Do the work inside the callback.',
  );
}
