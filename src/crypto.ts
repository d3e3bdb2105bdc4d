/**
 * The only file that touches libsodium. Every primitive is named where it is used:
 *
 * - AEAD: XChaCha20-Poly1305 (IETF). 192-bit random nonces, so nonce reuse across millions of
 *   seals under one key is not a practical concern; associated data binds a ciphertext to where
 *   it belongs (vault, name, version, agent), so a moved ciphertext fails to open.
 * - KDF/MAC: keyed BLAKE2b (crypto_generichash). Used as a PRF for subkeys and name ids.
 * - Password hashing: Argon2id (crypto_pwhash), parameters stored in the vault header.
 * - Signatures: Ed25519 (crypto_sign_detached). The owner signs every record agents and the
 *   owner trust, so a writer of the vault directory who holds only agent keys cannot forge one;
 *   server mode signs its entries and state with a second owner key (see _keys.ts).
 *
 * Two builds of the same libsodium: the standard one (libsodium-wrappers) for everything but
 * Argon2id, and the sumo one (libsodium-wrappers-sumo), the only one with crypto_pwhash, loaded
 * when a passphrase is first hashed. Agents never hash one, so an agent process never loads it:
 * the sumo build is a third larger to parse and instantiate (measured: ~6 ms of CPU at start-up on
 * a quiet core). An owner who unlocks with a passphrase holds both; they share no memory, and the
 * sumo heap sees only the passphrase and its hash, as before.
 *
 * Any authentication failure becomes one generic IntegrityError: callers learn that bytes did
 * not verify, never why (no oracle), and never see key or plaintext material.
 */
import sodium from 'libsodium-wrappers';
import { changedWords, u32 } from './_bytes.ts';
import { IntegrityError } from './errors.ts';

export const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** Bytes a seal adds to its plaintext: the nonce in front, the Poly1305 tag behind. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

let ready: Promise<void> | undefined;

/** Initialise libsodium once per process; every other function here needs it. */
export function initCrypto(): Promise<void> {
  ready ??= sodium.ready;
  return ready;
}

/**
 * Random bytes from the platform CSPRNG (Web Crypto `getRandomValues`, in Node backed by
 * OpenSSL). libsodium-wrappers' own randombytes_buf goes through a slow JS shim in Node (about
 * 60 µs a call, measured), which dominated `set`.
 */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65_536)));
  }
  return out;
}

/** Seal `plaintext` under `key`: returns nonce ‖ ciphertext ‖ tag (XChaCha20-Poly1305). */
export function seal(key: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
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

/** Constant-time equality for equal-length inputs (sodium_memcmp); different lengths are unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium.memcmp(a, b);
}

/** Overwrite bytes with zeros (sodium_memzero, which the compiler may not elide). */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) if (buffer && buffer.length > 0) sodium.memzero(buffer);
}

/** base64url without padding (RFC 4648 §5): tokens, key files, the header. */
export function toBase64Url(bytes: Uint8Array): string {
  return sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING);
}

/**
 * The bytes of unpadded base64url text; throws a plain Error on anything else, which each caller
 * turns into its own VaultError (a malformed token, header or key file).
 */
export function fromBase64Url(text: string): Uint8Array {
  return sodium.from_base64(text, sodium.base64_variants.URLSAFE_NO_PADDING);
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

// ---- Ed25519 ---------------------------------------------------------------------------------

export const SIGN_PUBLIC_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** An Ed25519 key pair from a 32-byte seed (crypto_sign_seed_keypair); the caller wipes `secretKey`. */
export function signingKeyPair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const { publicKey, privateKey } = sodium.crypto_sign_seed_keypair(seed);
  return { publicKey, secretKey: privateKey };
}

/** A detached Ed25519 signature of `message` (crypto_sign_detached). */
export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return sodium.crypto_sign_detached(message, secretKey);
}

/** Whether `signature` is `publicKey`'s over `message`; any malformed input is simply false. */
export function signatureValid(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== SIGN_PUBLIC_BYTES) return false;
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** Check a detached signature; any failure (wrong key, bytes, length) is the one IntegrityError. */
export function verifySignature(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array, what: string): void {
  if (!signatureValid(signature, message, publicKey)) {
    throw new IntegrityError(
      `${what} is not signed by this vault's owner: it was written by someone else (an agent, or ` +
        'another vault) or modified. Restore it from a backup, or have the owner set it again.',
    );
  }
}

// ---- Argon2id -------------------------------------------------------------------------------

export interface PassphraseParams {
  /** Argon2id passes (crypto_pwhash opslimit). */
  opslimit: number;
  /** Argon2id memory in bytes (crypto_pwhash memlimit). */
  memlimit: number;
}

/**
 * Bounds on the Argon2id cost a vault header may ask for, so a planted header cannot make each
 * unlock attempt take a minute and a gigabyte (20 passes over 1 GiB did). They sit at what init's
 * calibration can choose: it uses 64 MiB and at most 20 passes, so no vault made here costs more
 * than MAX_WORK; memory is allowed up to 4x that for vaults made with explicit parameters.
 * On the machine this was tuned on, one pass over 64 MiB takes ~90 ms: the cap is ~2 s.
 */
const PASSPHRASE_LIMITS = {
  minOps: 1,
  maxOps: 20,
  minMem: 8 * 1024 * 1024,
  maxMem: 256 * 1024 * 1024,
  /** opslimit × memlimit: what calibration picks at most (20 passes over 64 MiB). */
  maxWork: 20 * 64 * 1024 * 1024,
} as const;

/** The bounds above in words, for errors. */
export const PASSPHRASE_BOUNDS = 'opslimit 1..20, memlimit 8 MiB..256 MiB, opslimit × memlimit at most 20 × 64 MiB';

export const SALT_BYTES = 16;

let sumo: Promise<typeof import('libsodium-wrappers-sumo').default> | undefined;

/** The sumo build, for crypto_pwhash only: imported and instantiated on the first passphrase. */
function passphraseHashing(): Promise<typeof import('libsodium-wrappers-sumo').default> {
  sumo ??= import('libsodium-wrappers-sumo').then(async ({ default: build }) => {
    await build.ready;
    return build;
  });
  return sumo;
}

/** Argon2id (crypto_pwhash, ALG_ARGON2ID13) → 32-byte key-encryption key. */
export async function passphraseKey(passphrase: Uint8Array, salt: Uint8Array, params: PassphraseParams): Promise<Uint8Array> {
  if (!passphraseParamsInBounds(params) || salt.length !== SALT_BYTES) {
    throw new IntegrityError(
      `The vault header has Argon2id parameters or a salt out of bounds (${PASSPHRASE_BOUNDS}, 16-byte ` +
        'salt): it is corrupt or hostile. Restore it from a backup.',
    );
  }
  const argon2 = await passphraseHashing();
  return argon2.crypto_pwhash(
    KEY_BYTES, passphrase, salt, params.opslimit, params.memlimit, argon2.crypto_pwhash_ALG_ARGON2ID13,
  );
}

export function passphraseParamsInBounds({ opslimit, memlimit }: PassphraseParams): boolean {
  return Number.isSafeInteger(opslimit) && Number.isSafeInteger(memlimit) &&
    opslimit >= PASSPHRASE_LIMITS.minOps && opslimit <= PASSPHRASE_LIMITS.maxOps &&
    memlimit >= PASSPHRASE_LIMITS.minMem && memlimit <= PASSPHRASE_LIMITS.maxMem &&
    opslimit * memlimit <= PASSPHRASE_LIMITS.maxWork;
}

/**
 * Pick Argon2id parameters that take about `targetMs` here: 64 MiB of memory, passes raised
 * until one unlock costs at least the target (capped at the read limit).
 */
export async function calibratePassphraseParams(targetMs = 500): Promise<PassphraseParams> {
  const memlimit = 64 * 1024 * 1024;
  const probe = new Uint8Array(SALT_BYTES);
  await passphraseHashing(); // loading the build is not part of one unlock's cost
  const start = performance.now();
  wipe(await passphraseKey(utf8.encode('calibration'), probe, { opslimit: 1, memlimit }));
  const perPass = Math.max(1, performance.now() - start);
  const opslimit = Math.min(PASSPHRASE_LIMITS.maxOps, Math.max(2, Math.ceil(targetMs / perPass)));
  return { opslimit, memlimit };
}

// ---- Opening into caller-owned memory, leaving nothing in libsodium's --------------------------

/** The length of what `seal` sealed, from the sealed bytes alone (no key needed). */
export function sealedLength(sealed: Uint8Array): number {
  return Math.max(0, sealed.length - SEAL_OVERHEAD);
}

/** The raw Emscripten module under libsodium-wrappers: its heap and the C functions we call. */
interface RawSodium {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(pointer: number): void;
  _crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: number, mlenP: number, nsec: number, c: number, clenLo: number, clenHi: number,
    ad: number, adlenLo: number, adlenHi: number, npub: number, k: number,
  ): number;
  _crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
    m: number, nsec: number, c: number, clenLo: number, clenHi: number, mac: number,
    ad: number, adlenLo: number, adlenHi: number, npub: number, k: number,
  ): number;
}

function rawSodium(): RawSodium {
  return (sodium as unknown as { libsodium: RawSodium }).libsodium;
}

/**
 * Open what `seal` made straight into `target` (exactly `sealedLength(sealed)` bytes), or, with
 * `target` null, only check that it opens (no plaintext is made at all). Same primitive and the
 * same IntegrityError as `open`, but nothing is left behind in libsodium's WASM memory, which
 * `memzero` on a JS array never reaches: libsodium-wrappers frees its heap buffers (key and
 * plaintext) without zeroing them, and ChaCha20 keeps the last partial block of plaintext in a
 * stack buffer it does not wipe. So this calls the C function itself, zeroes the key and
 * plaintext buffers it allocated before freeing them, and zeroes the stack bytes a decryption
 * writes (measured once per process, see `decryptStackFootprint`). Synchronous, so the hardened
 * transport can decrypt into a socket write buffer at the moment of the write.
 */
export function openInto(
  key: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
  target: Uint8Array | null,
  what: string,
): void {
  const length = sealedLength(sealed);
  if (sealed.length < SEAL_OVERHEAD || key.length !== KEY_BYTES) throw integrityFailure(what);
  if (target && target.length !== length) throw new RangeError(`openInto: target must be ${length} bytes`);
  const scrub = decryptStackFootprint();
  const raw = rawSodium();
  const ciphertext = sealed.subarray(NONCE_BYTES);
  // One allocation for everything: key ‖ nonce ‖ associated data ‖ ciphertext ‖ plaintext.
  const size = KEY_BYTES + NONCE_BYTES + associatedData.length + ciphertext.length + Math.max(length, 1);
  const base = raw._malloc(size);
  if (base === 0) throw new RangeError('openInto: libsodium is out of memory');
  const k = base;
  const n = k + KEY_BYTES;
  const a = n + NONCE_BYTES;
  const c = a + associatedData.length;
  const m = c + ciphertext.length;
  let status: number;
  try {
    raw.HEAPU8.set(key, k);
    raw.HEAPU8.set(sealed.subarray(0, NONCE_BYTES), n);
    raw.HEAPU8.set(associatedData, a);
    raw.HEAPU8.set(ciphertext, c);
    // With no message pointer, decrypt_detached checks the Poly1305 tag and stops there.
    status = target
      ? raw._crypto_aead_xchacha20poly1305_ietf_decrypt(m, 0, 0, c, ciphertext.length, 0, a, associatedData.length, 0, n, k)
      : raw._crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        0, 0, c, length, 0, c + length, a, associatedData.length, 0, n, k,
      );
    if (status === 0 && target) target.set(raw.HEAPU8.subarray(m, m + length));
  } finally {
    // HEAPU8 is replaced when the WASM memory grows: read it again after every call.
    raw.HEAPU8.fill(0, base, base + size);
    raw._free(base);
    raw.HEAPU8.fill(0, scrub.start, scrub.end);
  }
  if (status !== 0) throw integrityFailure(what);
}

let footprint: { start: number; end: number } | undefined;

/** Lengths that take every path through XChaCha20-Poly1305's decryption: partial and whole blocks, one and many. */
const PROBE_LENGTHS = [1, 17, 63, 64, 65, 130, 255];

/**
 * The WASM stack bytes that one XChaCha20-Poly1305 decryption writes. libsodium does not export
 * its stack pointer, so we observe it once: decrypt random messages of several lengths under
 * random keys and note every byte below our buffers that changed. Between calls from JS no WASM
 * frame is live, so that region is dead stack and zeroing it is safe. A margin below covers
 * deeper paths; the region is a few hundred bytes, so scrubbing it costs nothing measurable.
 *
 * It runs on the first resolution of every process, so the comparison is by 32-bit words and
 * finds only the first and the last changed word (changedWords in _bytes.ts, by bisection over
 * native compares): a byte-by-byte pass over the ~100 KiB below the heap, seven times, ran in the
 * interpreter and cost 15–25 ms of a cold start, and two word-by-word walks still 2–4 ms. A
 * changed word widens the region to its four bytes, never narrows it.
 *
 * Two comparisons, not one per length: the first decryption against the pristine memory, then
 * the six others together against the memory the first one left. The second snapshot holds the
 * first decryption's garbage where the stack was used, so a later decryption writing zeros there
 * still shows as a change (one snapshot taken before all seven would miss those); below that,
 * memory no decryption had touched is compared with its pristine value, as before. A word is
 * missed only where a later length writes back exactly what an earlier one of the six replaced,
 * which the margin below covers. Each comparison walks the ~100 KiB: seven cost ~5–10 ms of a
 * cold start (measured under load), two cost a third of that.
 */
function decryptStackFootprint(): { start: number; end: number } {
  if (footprint) return footprint;
  const raw = rawSodium();
  let low = Infinity;
  let high = -1;
  const [first, ...rest] = PROBE_LENGTHS;
  for (const lengths of [[first!], rest]) {
    // Our buffers sit above every byte compared: allocated first, the lowest of them bounds the scan.
    const probes = lengths.map(probeDecryption);
    const words = Math.min(...probes.map((probe) => probe.base)) >>> 2;
    const before = raw.HEAPU8.slice(0, words * 4);
    // Last made, first opened: the bytes compared last are then another key's and nonce's than
    // the snapshot's (left by the last seal), so stack words that depend only on the key and nonce
    // differ too. Comparing each decryption with its own seal, as this did before, never saw the
    // top 48 bytes of the region, which both write alike (looked at: zeros where libsodium wiped
    // its subkey, and the message length; nothing secret): the region found now ends 48 bytes higher.
    const statuses = probes.toReversed().map((probe) => probe.decrypt());
    // HEAPU8 read again: the memory may have grown (and been replaced) during the decryptions.
    const changed = changedWords(before, raw.HEAPU8.subarray(0, words * 4));
    if (changed) {
      low = Math.min(low, changed.first * 4);
      high = Math.max(high, changed.last * 4 + 3);
    }
    for (const probe of probes) probe.release();
    if (statuses.some((status) => status !== 0)) throw new Error('libsodium failed its own decryption self-test.');
  }
  if (high < 0) throw new Error('Could not locate the stack libsodium decrypts on.');
  footprint = { start: Math.max(0, (low & ~15) - 256), end: (high | 15) + 1 };
  return footprint;
}

/** One self-test decryption of `length` random bytes under a random key, in a heap buffer of its own. */
function probeDecryption(length: number): { base: number; decrypt(): number; release(): void } {
  const raw = rawSodium();
  const key = randomBytes(KEY_BYTES);
  const associatedData = randomBytes(7);
  const sealed = seal(key, randomBytes(length), associatedData);
  const size = KEY_BYTES + associatedData.length + sealed.length + length;
  const k = raw._malloc(size);
  if (k === 0) throw new RangeError('libsodium is out of memory');
  const a = k + KEY_BYTES;
  const s = a + associatedData.length;
  const m = s + sealed.length;
  raw.HEAPU8.set(key, k);
  raw.HEAPU8.set(associatedData, a);
  raw.HEAPU8.set(sealed, s);
  wipe(key);
  return {
    base: k,
    decrypt: () => raw._crypto_aead_xchacha20poly1305_ietf_decrypt(
      m, 0, 0, s + NONCE_BYTES, sealed.length - NONCE_BYTES, 0, a, associatedData.length, 0, s, k,
    ),
    release: () => {
      raw.HEAPU8.fill(0, k, k + size);
      raw._free(k);
    },
  };
}
