/**
 * An owner vault's parts, built once the root key is open: its keys (with the signer), the
 * guard that checks every record against the signed state (its floor loaded from, and each
 * commit saved to, the owner's config directory), and the store that does the owner's writes.
 */
import type { Backend } from './backend.ts';
import type { AuditSink } from './audit/index.ts';
import { bytesToHex } from './_bytes.ts';
import { type StoredHeader, verifyHeader } from './_header.ts';
import { unlockRootKey } from './_open.ts';
import { wipe } from './crypto.ts';
import { UsageError } from './errors.ts';
import type { OpenVaultOptions } from './options.ts';
import type { LocalStates } from './_local-state.ts';
import { type OwnerKeys, ownerKeys } from './_owner-records.ts';
import { OwnerStore } from './_owner-store.ts';
import { StateGuard, STATE_KEY } from './_state.ts';

export type OwnerRole = { kind: 'owner'; store: OwnerStore; guard: StateGuard } & OwnerKeys;

export interface OwnerRoleOptions {
  backend: Backend;
  vaultId: Uint8Array;
  rootKey: Uint8Array;
  now: () => number;
  audit: AuditSink | undefined;
  /** See VaultOptions.configDir. */
  configDir: string | false | undefined;
}

export async function ownerRole(options: OwnerRoleOptions): Promise<OwnerRole> {
  const { backend, vaultId, audit } = options;
  const keys = ownerKeys(options.rootKey);
  const vaultHex = bytesToHex(vaultId);
  const local = await localStatesFor(options.configDir);
  const cell = { floor: local ? await local.read(vaultHex) : { counter: 0 } };
  const guard = new StateGuard(backend, { vaultId, publicKey: keys.signer.publicKey }, cell);
  const store = new OwnerStore({
    backend, vaultId, keys, now: options.now, guard,
    auditHead: async () => {
      const head = await audit?.head?.(vaultHex);
      return head && head.seq > 0 ? head : undefined;
    },
    committed: async () => local?.write(vaultHex, guard.floor),
  });
  return { kind: 'owner', ...keys, store, guard };
}

/**
 * Unlock an existing vault as its owner: refuse format 1 (naming the upgrade), check the header
 * is the one this root key signed, and refuse at once a state older than this owner has seen.
 */
export async function openOwnerRole(
  header: StoredHeader, options: OpenVaultOptions, { backend, audit, now }: Pick<OwnerRoleOptions, 'backend' | 'audit' | 'now'>,
): Promise<OwnerRole> {
  if (header.format === 1) {
    throw new UsageError(
      'This vault is format 1, from before its records were owner-signed. Upgrade it once, in place: ' +
        '`agent-vault migrate` (or migrateVault() with the same unlock options); it prints a new token for ' +
        'each active agent, since format-1 tokens stop working.',
    );
  }
  const rootKey = await unlockRootKey(header, options);
  const role = await ownerRole({ backend, vaultId: header.vaultId, rootKey, now, audit, configDir: options.configDir });
  try {
    verifyHeader(header, role.signer.publicKey);
    if (await backend.get(STATE_KEY)) await role.guard.current();
    return role;
  } catch (error) {
    wipeOwner(role);
    throw error;
  }
}

/** Wipe every key an owner role holds. */
export function wipeOwner(role: OwnerRole): void {
  wipe(role.rootKey, role.ownerKey, role.nameKey);
  role.signer.wipe();
}

/** The audit head the vault's signed state anchors (the last owner operation's), if any. */
export async function anchoredHead(role: OwnerRole, backend: Backend): Promise<{ seq: number; hash: string } | undefined> {
  if (!(await backend.get(STATE_KEY))) return undefined;
  return (await role.guard.current()).audit;
}

/** The owner's floor store for `configDir` (see VaultOptions.configDir); none when declined or outside Node. */
export async function localStatesFor(configDir: string | false | undefined): Promise<LocalStates | undefined> {
  if (configDir === false) return undefined;
  // Outside Node (a browser, a worker) there is no config directory: the floor lives as long as the vault object.
  if (configDir === undefined && !globalThis.process?.versions?.node) return undefined;
  const { defaultConfigDir, localStates } = await import('./_local-state.ts');
  return localStates(configDir ?? defaultConfigDir());
}
