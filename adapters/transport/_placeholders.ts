/**
 * The stand-ins that travel where the key will go. Both kinds are random and never a usable key
 * anywhere, so a request that escapes with one instead of the key leaks nothing.
 */
import { bytesToHex } from '../../src/_bytes.ts';

const PLACEHOLDER_PREFIX = 'agent-vault-placeholder-';

/** Random hex: 16 bytes, 32 digits. Also names a refusal response (`_refusals.ts`). */
export function randomHex(): string {
  return bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

/** A fresh placeholder for an SDK's `apiKey`: recognisable by its prefix, random. */
export function createPlaceholder(): string {
  return PLACEHOLDER_PREFIX + randomHex();
}

/** True for a string made by `createPlaceholder()`. */
export function isPlaceholder(value: unknown): value is string {
  return typeof value === 'string' && /^agent-vault-placeholder-[0-9a-f]{32}$/.test(value);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random bytes for one-time placeholders, drawn from the CSPRNG 4 KiB at a time: one
 * `getRandomValues` per request cost more than the rest of making a placeholder. Each byte is
 * used once and overwritten as it is used, so no placeholder can be read back from the pool.
 */
const pool = new Uint8Array(4096);
let poolUsed = pool.length;

/**
 * The hardened transport's one-time placeholder: random letters and digits of exactly the key's
 * length (the socket writes the key over it in place), valid in any header. Returned as the
 * string that goes into the headers and as its latin1 bytes, which the socket searches for.
 */
export function oneTimePlaceholder(length: number): { text: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    if (poolUsed === pool.length) {
      globalThis.crypto.getRandomValues(pool);
      poolUsed = 0;
    }
    bytes[i] = ALPHABET.charCodeAt(pool[poolUsed]! % ALPHABET.length);
    pool[poolUsed++] = 0;
  }
  return { text: String.fromCharCode(...bytes), bytes };
}
