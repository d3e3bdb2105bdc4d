/**
 * Owner signatures over stored records (format 2). Every record an agent or the owner trusts is
 * `body ‖ Ed25519 signature` over `parts("agent-vault/signed/v2", vaultId, backendKey, body)`, so
 * a record is bound to its vault and to the backend key it lives under: a genuine record moved
 * to another name or vault fails like a forged one. Only the owner (the root key) can sign; the
 * public key is pinned by the agent's token and, for the owner, derived from the root key.
 */
import { concatBytes, malformed } from './_bytes.ts';
import { signingSeed } from './_keys.ts';
import { encodeParts, SIGNATURE_BYTES, sign, signingKeyPair, verifySignature, wipe } from './crypto.ts';

/** Who signs: the owner's key pair, derived from the root key. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
  wipe(): void;
}

/** Where a signed record must verify: the vault, the backend key it was read from, the owner's key. */
export interface SignedPlace {
  vaultId: Uint8Array;
  key: string;
  publicKey: Uint8Array;
}

export function ownerSigner(rootKey: Uint8Array): Signer {
  const seed = signingSeed(rootKey);
  const { publicKey, secretKey } = signingKeyPair(seed);
  wipe(seed);
  return {
    publicKey,
    sign: (message) => sign(secretKey, message),
    wipe: () => wipe(secretKey),
  };
}

function message(vaultId: Uint8Array, key: string, body: Uint8Array): Uint8Array {
  return encodeParts('agent-vault/signed/v2', [vaultId, key, body]);
}

/** `body ‖ signature`, ready to store under `key`. */
export function signRecord(signer: Signer, vaultId: Uint8Array, key: string, body: Uint8Array): Uint8Array {
  return concatBytes(body, signer.sign(message(vaultId, key, body)));
}

/** The body of a signed record, once its signature verifies for `place`; IntegrityError otherwise. */
export function verifiedBody(bytes: Uint8Array, place: SignedPlace, what: string): Uint8Array {
  if (bytes.length <= SIGNATURE_BYTES) throw malformed(what);
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  verifySignature(place.publicKey, bytes.subarray(body.length), message(place.vaultId, place.key, body), what);
  return body;
}
