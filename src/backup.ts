/**
 * Restoring a backup made by `vault.backup()` (`agent-vault restore`). The backup format and the
 * owner's role are loaded by the call: importing `agent-vault` (every agent does) loads neither.
 */
import { bytesToHex } from './_bytes.ts';
import { resolveStorage, unlockRootKey } from './_open.ts';
import { initCrypto, wipe } from './crypto.ts';
import { UsageError } from './errors.ts';
import type { OwnerUnlock, VaultOptions } from './options.ts';
import { openVault, type Vault } from './vault.ts';

export interface RestoreOptions extends VaultOptions, OwnerUnlock {
  /**
   * Restore a backup older than the newest state of this vault the owner has seen (kept in its
   * config directory). Default false: such a restore is refused, since it brings back agents
   * revoked and secrets deleted or rotated since the backup. When you mean it, revoke or rotate
   * those agents again afterwards; tokens issued since the backup stop working.
   */
  allowRollback?: boolean;
}

/**
 * Restore `backup` into a vault location holding no vault (`dir` or `backend`, as for
 * openVault), unlocked with the passphrase or key file the vault had when the backup was made,
 * and open it as owner. A changed, truncated or pieced-together backup is an IntegrityError, an
 * existing vault there a VaultExistsError, a backup older than this owner has seen of the vault
 * an IntegrityError (see `allowRollback`); in each case nothing is written. Vault directories and
 * backends only, not server vaults.
 */
export async function restoreVault(backup: Uint8Array, options: RestoreOptions): Promise<Vault> {
  const { allowRollback = false, ...open } = options;
  const fromEnvironment = open.backend === undefined && open.dir === undefined && globalThis.process?.env?.AGENT_VAULT_SERVER;
  if (open.server !== undefined || fromEnvironment) {
    throw new UsageError('restoreVault restores into a vault directory or backend, not a server vault; pass { dir } or { backend }.');
  }
  const [{ backupHeader, importBackup }, { localStatesFor }] = await Promise.all([
    import('./_backup.ts'), import('./_owner-role.ts'), initCrypto(),
  ]);
  const { header } = backupHeader(backup);
  const rootKey = await unlockRootKey(header, open);
  const { backend, audit } = await resolveStorage(open);
  const vaultHex = bytesToHex(header.vaultId);
  try {
    const local = await localStatesFor(open.configDir);
    const floor = local ? await local.read(vaultHex) : { counter: 0 };
    const restore = () => importBackup(backend, backup, rootKey, { now: open.now ?? Date.now, audit, floor, allowRollback });
    const restored = await (backend.withLock ? backend.withLock(restore) : restore());
    await local?.write(vaultHex, restored);
  } finally {
    wipe(rootKey);
    // Only what this call opened: a caller's backend and sink stay theirs, for the openVault below.
    if (!open.backend) {
      if (open.audit === undefined) await audit?.close?.();
      await backend.close?.();
    }
  }
  return openVault(open);
}
