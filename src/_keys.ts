/**
 * Every key and id derived from a vault's root key, and the one hash the broker keeps of a
 * phantom key, each named once (FORMAT.md lists the labels). Changing a label or the order of a
 * derivation's parts makes every existing vault unreadable, so each label carries a version and
 * never changes.
 */
import { bytesToHex } from './_bytes.ts';
import { derive, digest, encodeParts, mac } from './crypto.ts';

/** Bytes of an agent locator (the `a/<hex>` backend key and a grant's `agentLoc`). */
export const LOC_BYTES = 16;
const NAME_ID_BYTES = 16;

/** The label of the audit MAC key; exported for tests that build audit records by hand. */
export const AUDIT_KEY_LABEL = 'agent-vault/audit/v1';

/** Seals names, agent ids and the owner's copy of every data key. */
export function ownerKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/owner/v1');
}

/** Turns secret names into backend keys (`nameId`); agents receive it in their policy. */
export function nameKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/names/v1');
}

/**
 * An agent's key for one generation: derived, never stored, so the owner can always re-derive
 * it to grant a new secret, and bumping the generation makes every older token useless.
 */
export function agentKey(rootKey: Uint8Array, agentId: string, generation: number): Uint8Array {
  return derive(rootKey, 'agent-vault/agent/v1', agentId, generation);
}

/** The key a writer MACs its audit records with: `base` is the root key (owner) or an agent key. */
export function auditKey(base: Uint8Array): Uint8Array {
  return derive(base, AUDIT_KEY_LABEL);
}

/**
 * Seals the backups `import` keeps of the files it rewrites (src/scan/_sealer.ts): they hold the
 * keys import moved into the vault, so only the owner may read them back.
 */
export function importSealKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/import-seal/v1');
}

/** Keys an import manifest's digests and its MAC, so they confirm no guess of a file's bytes. */
export function importMacKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/import-mac/v1');
}

/** Seals a whole-vault backup (src/_backup.ts): only the owner's unlock opens one. */
export function backupKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/backup/v1');
}

/** The backend key of a secret (`s/<nameId>`): a keyed hash, so storage never sees names. */
export function nameId(nameKey: Uint8Array, canonicalName: string): string {
  return bytesToHex(mac(nameKey, encodeParts('agent-vault/name-id/v1', [canonicalName]), NAME_ID_BYTES));
}

/**
 * Where an agent's record lives (format 2): a keyed hash of the agent id under a key only the
 * owner holds, stable across generations, so a dictionary of ids confirms nothing. The agent
 * learns its own from its token.
 */
export function agentLoc(rootKey: Uint8Array, agentId: string): Uint8Array {
  const key = derive(rootKey, 'agent-vault/agent-loc-key/v2');
  try {
    return mac(key, encodeParts('agent-vault/agent-loc/v2', [agentId]), LOC_BYTES);
  } finally {
    key.fill(0);
  }
}

/** Format 1's unkeyed agent locator; read only by the migration (src/_migrate.ts). */
export function agentLocV1(vaultId: Uint8Array, agentId: string): Uint8Array {
  return digest(encodeParts('agent-vault/agent-loc/v1', [vaultId, agentId]), LOC_BYTES);
}

/** The seed of the owner's Ed25519 signing key: every record agents trust is signed with it. */
export function signingSeed(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/sign/v2');
}

/**
 * The seed of the owner's server-mode Ed25519 key: it signs the server's entries and state, and
 * the vault id on a server is its public key's hash. Distinct from `signingSeed` (another label)
 * so the server's envelope and the records inside it never share a signature domain.
 */
export function serverSigningSeed(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/sign/v1');
}

/**
 * What a principal shows a server: derived from its own key (`base`: an agent key, or the owner's
 * unlock key), so the token or key file never leaves the process; the server keeps only a hash.
 */
export function serverAuthKey(base: Uint8Array): Uint8Array {
  return derive(base, 'agent-vault/server-auth/v1');
}

/** The key a server MACs its audit records with: the owner hands it over at creation and can re-derive it. */
export function serverAuditKey(rootKey: Uint8Array): Uint8Array {
  return derive(rootKey, 'agent-vault/server-audit/v1');
}

/** What the broker keeps of a phantom key (never the key): it looks a presented key up by this. */
export function phantomKeyHash(phantomKey: string): Uint8Array {
  return digest(encodeParts('agent-vault/phantom/v1', [phantomKey]), 32);
}
