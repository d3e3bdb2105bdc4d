/**
 * What keeps an import's backups to the owner. A backup holds the keys import moved into the
 * vault, so it is sealed (XChaCha20-Poly1305) under a key derived from the root key, bound to
 * the vault, the import and the file it came from; the manifest's digests are keyed, and the
 * manifest itself carries a MAC under the owner's key. A process running as the owner that reads
 * the imports directory learns no key; one that writes it can delete a backup, never make undo
 * restore, revoke or delete anything the import did not (the manifest names token files undo
 * deletes and agents it revokes).
 */
import { bytesToHex, hexToBytes } from '../_bytes.ts';
import { constantTimeEqual, encodeParts, mac, open, seal, utf8, wipe } from '../crypto.ts';
import { IntegrityError, UsageError } from '../errors.ts';
import type { Vault } from '../vault.ts';
import type { Manifest } from './backup.ts';

const SEAL_LABEL = 'agent-vault/import-backup/v1';
const DIGEST_LABEL = 'agent-vault/import-digest/v1';
const MANIFEST_LABEL = 'agent-vault/import-manifest/v1';

/** `manifest.json` is `{"mac":"<64 hex>","manifest":<body>}\n`: the MAC covers the body's exact bytes. */
const MANIFEST_PREFIX = /^\{"mac":"([0-9a-f]{64})","manifest":/;
const MANIFEST_PREFIX_LENGTH = '{"mac":"","manifest":'.length + 64;
const MANIFEST_SUFFIX = '}\n';

export class BackupSealer {
  /** The vault's id (hex), recorded in the manifest so undo with another vault says so. */
  readonly vaultId: string;
  readonly #vaultId: Uint8Array;
  readonly #sealKey: Uint8Array;
  readonly #macKey: Uint8Array;

  /** Owner only (Vault._importKeys refuses an agent), so nothing runs before the owner unlocked. */
  constructor(vault: Vault) {
    const keys = vault._importKeys();
    this.vaultId = vault.id;
    this.#vaultId = hexToBytes(vault.id);
    this.#sealKey = keys.seal;
    this.#macKey = keys.mac;
  }

  /** A file's old bytes, sealed to this vault's owner for this import and this path. */
  seal(importId: string, path: string, bytes: Uint8Array): Uint8Array {
    return seal(this.#sealKey, bytes, this.#ad(importId, path));
  }

  /** The bytes `seal` sealed; an IntegrityError if the backup was edited, truncated, swapped or moved. */
  open(importId: string, path: string, sealed: Uint8Array, backupPath: string): Uint8Array {
    try {
      return open(this.#sealKey, sealed, this.#ad(importId, path), 'backup');
    } catch (cause) {
      throw new IntegrityError(
        `The backup ${backupPath} of ${path} failed authentication: it was modified, truncated, or put there from another ` +
          'file, import or vault. Nothing was restored; the file is as the import left it.',
        { cause },
      );
    }
  }

  /** A file's digest for the manifest: keyed, so it confirms no guess of what the file held. */
  fingerprint(importId: string, path: string, bytes: Uint8Array): string {
    const data = encodeParts(DIGEST_LABEL, [this.#vaultId, importId, path, bytes]); // a copy of the old values
    try {
      return bytesToHex(mac(this.#macKey, data));
    } finally {
      wipe(data);
    }
  }

  encodeManifest(manifest: Manifest): Uint8Array {
    const body = utf8.encode(JSON.stringify(manifest, null, 2));
    return utf8.encode(`{"mac":"${bytesToHex(this.#manifestMac(body))}","manifest":${utf8.decode(body)}${MANIFEST_SUFFIX}`);
  }

  /** The manifest in `bytes`, checked: made by this vault's owner and not changed since. */
  decodeManifest(bytes: Uint8Array, path: string): Manifest {
    const parsed = parseManifest(bytes);
    if (typeof parsed?.manifest.vault === 'string' && parsed.manifest.vault !== this.vaultId) {
      throw new UsageError(`The import in ${path} was made with the vault ${parsed.manifest.vault}, not ${this.vaultId}: undo with --dir pointing at that vault.`);
    }
    if (!parsed || !constantTimeEqual(this.#manifestMac(parsed.body), parsed.mac)) {
      throw new IntegrityError(
        `The import manifest ${path} failed authentication: it was modified, or not written by this version of agent-vault. ` +
          'Nothing was restored. `agent-vault import --forget` deletes the imports directory.',
      );
    }
    return parsed.manifest;
  }

  wipe(): void {
    wipe(this.#sealKey, this.#macKey);
  }

  #ad(importId: string, path: string): Uint8Array {
    return encodeParts(SEAL_LABEL, [this.#vaultId, importId, path]);
  }

  #manifestMac(body: Uint8Array): Uint8Array {
    return mac(this.#macKey, encodeParts(MANIFEST_LABEL, [this.#vaultId, body]));
  }
}

/** The parts of a manifest file, unchecked; undefined when it is not in that shape at all. */
function parseManifest(bytes: Uint8Array): { mac: Uint8Array; body: Uint8Array; manifest: Manifest } | undefined {
  if (bytes.length < MANIFEST_PREFIX_LENGTH + MANIFEST_SUFFIX.length) return undefined;
  const body = bytes.subarray(MANIFEST_PREFIX_LENGTH, bytes.length - MANIFEST_SUFFIX.length);
  try {
    const macHex = MANIFEST_PREFIX.exec(utf8.decode(bytes.subarray(0, MANIFEST_PREFIX_LENGTH)))?.[1];
    if (macHex === undefined || utf8.decode(bytes.subarray(bytes.length - MANIFEST_SUFFIX.length)) !== MANIFEST_SUFFIX) return undefined;
    const manifest = JSON.parse(utf8.decode(body)) as Manifest;
    return manifest !== null && typeof manifest === 'object' ? { mac: hexToBytes(macHex), body, manifest } : undefined;
  } catch {
    return undefined; // not UTF-8, not JSON
  }
}
