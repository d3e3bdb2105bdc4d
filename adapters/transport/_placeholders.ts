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
 * The hardened transport's one-time placeholder: random letters and digits of exactly the key's
 * length (the socket writes the key over it in place), valid in any header.
 */
export function oneTimePlaceholder(length: number): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(length));
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}
