/**
 * An owner vault's parts, built once the root key is open: its keys (with the signer), the
 * guard that checks every record against the signed state (its floor loaded from, and each
 * commit saved to, the owner's config directory), and the store that does the owner's writes.
 */
import type { Backend } from './backend.ts';
import type { AuditSink } from './audit/index.ts';
import { bytesToHex } from './_bytes.ts';
import type { LocalStates } from './_local-state.ts';
import { type OwnerKeys, ownerKeys, OwnerStore } from './_owner-store.ts';
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
    auditHead: async () => audit?.head?.({ vaultId: vaultHex }),
    committed: async () => local?.write(vaultHex, guard.floor),
  });
  return { kind: 'owner', ...keys, store, guard };
}

/** Refuse at once a vault whose state is older than the newest this owner has seen. */
export async function checkOwnerState(role: OwnerRole, backend: Backend): Promise<void> {
  if (await backend.get(STATE_KEY)) await role.guard.current();
}

/** The audit head the vault's signed state anchors (the last owner operation's), if any. */
export async function anchoredHead(role: OwnerRole, backend: Backend): Promise<{ seq: number; hash: string } | undefined> {
  if (!(await backend.get(STATE_KEY))) return undefined;
  return (await role.guard.current()).audit;
}

async function localStatesFor(configDir: string | false | undefined): Promise<LocalStates | undefined> {
  if (configDir === false) return undefined;
  // Outside Node (a browser, a worker) there is no config directory: the floor lives as long as the vault object.
  if (configDir === undefined && !globalThis.process?.versions?.node) return undefined;
  const { defaultConfigDir, localStates } = await import('./_local-state.ts');
  return localStates(configDir ?? defaultConfigDir());
}
