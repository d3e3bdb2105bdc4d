/** Restoring a backup made by `vault.backup()` (`agent-vault restore`). */
import { backupHeader, importBackup } from './_backup.ts';
import { resolveStorage, unlockRootKey } from './_open.ts';
import { initCrypto, wipe } from './crypto.ts';
import type { OwnerUnlock, VaultOptions } from './options.ts';
import { openVault, type Vault } from './vault.ts';

/**
 * Restore `backup` into an empty vault location (`dir` or `backend`, as for openVault), unlocked
 * with the passphrase or key file the vault had when the backup was made, and open it as owner.
 * A changed, truncated or foreign backup is an IntegrityError and nothing is written; an existing
 * vault there is a VaultExistsError.
 */
export async function restoreVault(backup: Uint8Array, options: VaultOptions & OwnerUnlock): Promise<Vault> {
  await initCrypto();
  const { header } = backupHeader(backup);
  const rootKey = await unlockRootKey(header, options);
  const { backend } = await resolveStorage({ ...options, audit: false });
  try {
    const restore = () => importBackup(backend, backup, rootKey);
    await (backend.withLock ? backend.withLock(restore) : restore());
  } finally {
    wipe(rootKey);
    if (!options.backend) await backend.close?.();
  }
  return openVault(options);
}
