/**
 * The only file that touches libsodium. Every primitive is named where it is used:
 *
 * - AEAD: XChaCha20-Poly1305 (IETF). 192-bit random nonces, so nonce reuse across millions of
 *   seals under one key is not a practical concern; associated data binds a ciphertext to where
 *   it belongs (vault, name, version, agent), so a moved ciphertext fails to open.
 * - KDF/MAC: keyed BLAKE2b (crypto_generichash). Used as a PRF for subkeys and name ids.
 * - Password hashing: Argon2id (crypto_pwhash), parameters stored in the vault header.
 *
 * Any authentication failure becomes one generic IntegrityError: callers learn that bytes did
 * not verify, never why (no oracle), and never see key or plaintext material.
 */
import sodium from 'libsodium-wrappers-sumo';
import { IntegrityError } from './errors.ts';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** Bytes a seal adds to its plaintext: the nonce in front, the Poly1305 tag behind. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

let ready: Promise<void> | undefined;

/** Initialise libsodium once per process; every other function here needs it. */
export function initCrypto(): Promise<void> {
  ready ??= sodium.ready;
  return ready;
}

export function randomBytes(length: number): Uint8Array {
  return sodium.randombytes_buf(length);
}

/** Seal `plaintext` under `key`: returns nonce ‖ ciphertext ‖ tag (XChaCha20-Poly1305). */
export function seal(key: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array {
  const nonce = sodium.randombytes_buf(NONCE_BYTES);
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plaintext, associatedData, null, nonce, key,
  );
  const out = new Uint8Array(NONCE_BYTES + ciphertext.length);
  out.set(nonce, 0);
  out.set(ciphertext, NONCE_BYTES);
  return out;
}

/**
 * Open what `seal` made. Throws IntegrityError when anything (nonce, ciphertext, tag, key or
 * associated data) differs from what was sealed. The caller owns and must wipe the result.
 */
export function open(
  key: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
  what: string,
): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw integrityFailure(what);
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null, sealed.subarray(NONCE_BYTES), associatedData, sealed.subarray(0, NONCE_BYTES), key,
    );
  } catch {
    throw integrityFailure(what);
  }
}

function integrityFailure(what: string): IntegrityError {
  return new IntegrityError(
    `${what} failed authentication: it was modified, truncated, moved from elsewhere, or ` +
      'sealed under another key. Restore it from a backup or set it again.',
  );
}

/**
 * Derive a 32-byte subkey (or an id): keyed BLAKE2b over a domain label and parts. Each part is
 * length-prefixed so that ("ab","c") and ("a","bc") never collide.
 */
export function derive(key: Uint8Array, label: string, ...parts: (Uint8Array | string | number)[]): Uint8Array {
  return sodium.crypto_generichash(KEY_BYTES, encodeParts(label, parts), key);
}

/** Unkeyed BLAKE2b digest, `length` bytes (16..64). */
export function digest(data: Uint8Array, length = 32): Uint8Array {
  return sodium.crypto_generichash(length, data, null);
}

/** Keyed BLAKE2b of `length` bytes, used as a MAC and for opaque ids. */
export function mac(key: Uint8Array, data: Uint8Array, length = 32): Uint8Array {
  return sodium.crypto_generichash(length, data, key);
}

export function encodeParts(label: string, parts: (Uint8Array | string | number)[]): Uint8Array {
  const chunks = [label, ...parts].map((part) =>
    typeof part === 'string' ? utf8.encode(part)
      : typeof part === 'number' ? u32(part)
      : part,
  );
  const total = chunks.reduce((sum, chunk) => sum + 4 + chunk.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(u32(chunk.length), offset);
    out.set(chunk, offset + 4);
    offset += 4 + chunk.length;
  }
  return out;
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Constant-time equality for equal-length inputs (sodium_memcmp); different lengths are unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(a, b);
}

/** Overwrite bytes with zeros (sodium_memzero, which the compiler may not elide). */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) if (buffer && buffer.length > 0) sodium.memzero(buffer);
}

export const utf8 = {
  encoder: new TextEncoder(),
  decoder: new TextDecoder('utf-8', { fatal: true }),
  encode(text: string): Uint8Array {
    return this.encoder.encode(text);
  },
  decode(bytes: Uint8Array): string {
    return this.decoder.decode(bytes);
  },
};

// ---- Argon2id -------------------------------------------------------------------------------

export interface PassphraseParams {
  /** Argon2id passes (crypto_pwhash opslimit). */
  opslimit: number;
  /** Argon2id memory in bytes (crypto_pwhash memlimit). */
  memlimit: number;
}

/** Bounds applied to parameters read from a vault header, so a hostile file cannot stall us. */
export const PASSPHRASE_LIMITS = {
  minOps: 1,
  maxOps: 20,
  minMem: 8 * 1024 * 1024,
  maxMem: 1024 * 1024 * 1024,
} as const;

export const SALT_BYTES = 16;

/** Argon2id (crypto_pwhash, ALG_ARGON2ID13) → 32-byte key-encryption key. */
export function passphraseKey(passphrase: Uint8Array, salt: Uint8Array, params: PassphraseParams): Uint8Array {
  if (!passphraseParamsInBounds(params) || salt.length !== SALT_BYTES) {
    throw new IntegrityError(
      'The vault header has Argon2id parameters or a salt out of bounds (opslimit 1..20, memlimit ' +
        '8 MiB..1 GiB, 16-byte salt): it is corrupt or hostile. Restore it from a backup.',
    );
  }
  return sodium.crypto_pwhash(
    KEY_BYTES, passphrase, salt, params.opslimit, params.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
}

export function passphraseParamsInBounds({ opslimit, memlimit }: PassphraseParams): boolean {
  return Number.isSafeInteger(opslimit) && Number.isSafeInteger(memlimit) &&
    opslimit >= PASSPHRASE_LIMITS.minOps && opslimit <= PASSPHRASE_LIMITS.maxOps &&
    memlimit >= PASSPHRASE_LIMITS.minMem && memlimit <= PASSPHRASE_LIMITS.maxMem;
}

/**
 * Pick Argon2id parameters that take about `targetMs` here: 64 MiB of memory, passes raised
 * until one unlock costs at least the target (capped at the read limit).
 */
export function calibratePassphraseParams(targetMs = 500): PassphraseParams {
  const memlimit = 64 * 1024 * 1024;
  const probe = new Uint8Array(SALT_BYTES);
  const start = performance.now();
  wipe(passphraseKey(utf8.encode('calibration'), probe, { opslimit: 1, memlimit }));
  const perPass = Math.max(1, performance.now() - start);
  const opslimit = Math.min(PASSPHRASE_LIMITS.maxOps, Math.max(2, Math.ceil(targetMs / perPass)));
  return { opslimit, memlimit };
}
