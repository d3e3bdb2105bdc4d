/**
 * The vault header (backend key `header`; FORMAT.md): the vault id and the root key, sealed
 * under a key from the unlock method, and (format 2) the owner's public signing key with the
 * owner's signature over every other field. It is JSON so a human can see which unlock method a
 * vault uses; it is parsed defensively (size cap, exact shape, bounded Argon2id parameters)
 * because it is read before anything is authenticated. Format 1 headers (no signing key) are
 * still decoded, only so the owner can migrate them (src/_migrate.ts).
 */
import { equalBytes, malformed } from './_bytes.ts';
import { IntegrityError } from './errors.ts';
import { ad } from './_records.ts';
import type { Signer } from './_signed.ts';
import {
  encodeParts, fromBase64Url, type PassphraseParams, KEY_BYTES, open, passphraseParamsInBounds, SALT_BYTES, SEAL_OVERHEAD,
  seal, SIGN_PUBLIC_BYTES, SIGNATURE_BYTES, toBase64Url, utf8, verifySignature,
} from './crypto.ts';
import { VAULT_ID_BYTES } from './token.ts';

export const HEADER_KEY = 'header';
const FORMAT_V1 = 'agent-vault/1';
const FORMAT = 'agent-vault/2';
const MAX_HEADER_BYTES = 4096;
const WHAT = 'The vault header';

export type Unlock =
  | ({ method: 'passphrase'; salt: Uint8Array } & PassphraseParams)
  | { method: 'key-file' };

export interface Header {
  vaultId: Uint8Array;
  createdAt: number;
  unlock: Unlock;
  sealedRootKey: Uint8Array;
}

/** A format-2 header: with the owner's public key and signature. */
export interface SignedHeader extends Header {
  format: 2;
  ownerKey: Uint8Array;
  signature: Uint8Array;
}

export type StoredHeader = SignedHeader | (Header & { format: 1 });

const unb64 = (text: unknown, length: number): Uint8Array => {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]+$/.test(text)) throw malformed(WHAT);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text);
  } catch {
    throw malformed(WHAT);
  }
  if (bytes.length !== length) throw malformed(WHAT);
  return bytes;
};

/** What the root key's seal binds: every header field, so no byte of the header can change. */
function boundFields(header: Pick<Header, 'vaultId' | 'createdAt' | 'unlock'>): Uint8Array {
  return ad.root(header.vaultId, `${header.createdAt}|${unlockJson(header.unlock)}`);
}

function unlockJson(unlock: Unlock): string {
  return unlock.method === 'passphrase'
    ? JSON.stringify({
      method: unlock.method, salt: toBase64Url(unlock.salt), opslimit: unlock.opslimit, memlimit: unlock.memlimit,
    })
    : JSON.stringify({ method: unlock.method });
}

export function sealRootKey(header: Omit<Header, 'sealedRootKey'>, unlockKey: Uint8Array, rootKey: Uint8Array) {
  return seal(unlockKey, rootKey, boundFields(header));
}

export function openRootKey(header: Header, unlockKey: Uint8Array): Uint8Array {
  return open(unlockKey, header.sealedRootKey, boundFields(header), WHAT);
}

/** What the owner signs: every field but the signature, each length-prefixed. */
function signedFields(header: Header, ownerKey: Uint8Array): Uint8Array {
  return encodeParts('agent-vault/header/v2', [
    header.vaultId, `${header.createdAt}|${unlockJson(header.unlock)}`, header.sealedRootKey, ownerKey,
  ]);
}

/** A format-2 header, signed by `signer`. */
export function encodeHeader(header: Header, signer: Signer): Uint8Array {
  const json = {
    format: FORMAT,
    vaultId: toBase64Url(header.vaultId),
    createdAt: header.createdAt,
    unlock: JSON.parse(unlockJson(header.unlock)),
    rootKey: toBase64Url(header.sealedRootKey),
    ownerKey: toBase64Url(signer.publicKey),
    signature: toBase64Url(signer.sign(signedFields(header, signer.publicKey))),
  };
  return utf8.encode(`${JSON.stringify(json, null, 2)}\n`);
}

/** Check a format-2 header was signed by `ownerKey` (the token's, or the one the root key derives). */
export function verifyHeader(header: SignedHeader, ownerKey: Uint8Array): void {
  if (!equalBytes(header.ownerKey, ownerKey)) {
    throw new IntegrityError(
      "The vault header names another owner key than this token (or this root key) trusts: it was replaced. " +
        'Restore the header from a backup.',
    );
  }
  verifySignature(ownerKey, header.signature, signedFields(header, ownerKey), WHAT);
}


export function decodeHeader(bytes: Uint8Array): StoredHeader {
  if (bytes.length > MAX_HEADER_BYTES) throw malformed(WHAT);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch {
    throw malformed(WHAT);
  }
  // Exactly these fields and no others: anything unbound by the root key's seal is refused.
  const v1 = ['format', 'vaultId', 'createdAt', 'unlock', 'rootKey'];
  const shapeOk = json?.format === FORMAT_V1 ? hasExactKeys(json, v1)
    : json?.format === FORMAT && hasExactKeys(json, [...v1, 'ownerKey', 'signature']);
  if (!shapeOk || !Number.isSafeInteger(json.createdAt)) throw malformed(WHAT);
  const header = {
    vaultId: unb64(json.vaultId, VAULT_ID_BYTES),
    createdAt: json.createdAt as number,
    unlock: decodeUnlock(json.unlock),
    sealedRootKey: unb64(json.rootKey, KEY_BYTES + SEAL_OVERHEAD),
  };
  if (json.format === FORMAT_V1) return { ...header, format: 1 };
  return {
    ...header,
    format: 2,
    ownerKey: unb64(json.ownerKey, SIGN_PUBLIC_BYTES),
    signature: unb64(json.signature, SIGNATURE_BYTES),
  };
}

/** The header's `unlock` object (also what a server shows before the owner has the header), checked exactly. */
export function decodeUnlock(unlock: unknown): Unlock {
  if (hasExactKeys(unlock, ['method']) && unlock.method === 'key-file') return { method: 'key-file' };
  if (hasExactKeys(unlock, ['method', 'salt', 'opslimit', 'memlimit']) && unlock.method === 'passphrase') {
    const params = { opslimit: unlock.opslimit as number, memlimit: unlock.memlimit as number };
    if (!passphraseParamsInBounds(params)) throw malformed(WHAT);
    return { method: 'passphrase', salt: unb64(unlock.salt, SALT_BYTES), ...params };
  }
  throw malformed(WHAT);
}

function hasExactKeys(value: unknown, keys: string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((key) => Object.hasOwn(value, key));
}
