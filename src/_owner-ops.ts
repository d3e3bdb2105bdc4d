/**
 * The owner's upkeep operations behind `Vault.updateAgent`, `changeUnlock` and `backup`: each
 * checks its arguments, runs under the vault's lock through the owner store or the header, and
 * writes its audit record. Kept out of src/vault.ts, which holds the two roles' shared plumbing.
 */
import type { Backend } from './backend.ts';
import type { AuditEvent } from './audit/index.ts';
import { exportBackup } from './_backup.ts';
import { replaceUnlock } from './_open.ts';
import { agentInfo } from './_owner-records.ts';
import type { OwnerRole } from './_owner-role.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './errors.ts';
import { canonicalName, compileAllow } from './names.ts';
import type { AgentInfo, CreateVaultOptions, UpdateAgentOptions } from './options.ts';

/** What an operation needs from the vault that runs it. */
export interface OwnerContext {
  role: OwnerRole;
  backend: Backend;
  /** A vault on an `agent-vault serve` server rather than a directory or backend of its own. */
  onServer: boolean;
  now: () => number;
  locked<T>(fn: () => Promise<T>): Promise<T>;
  record(event: Omit<AuditEvent, 'actor' | 'generation'>): Promise<void>;
}

/**
 * New patterns or lifetime for an agent, same token. Works on a server vault too: the server
 * takes the agent's policy (expiry included) from the record the owner signs, and its grants from
 * the re-sealed secret records.
 */
export async function updateAgent(ctx: OwnerContext, id: string, options: UpdateAgentOptions): Promise<AgentInfo> {
  const allow = options?.allow === undefined ? undefined : options.allow.map((pattern) => canonicalName(pattern));
  if (allow !== undefined) compileAllow(allow);
  const ttl = options?.ttl === undefined ? undefined : parseDuration(options.ttl, 'ttl');
  if (allow === undefined && ttl === undefined) throw new UsageError('Say what to change: { allow } or { ttl }.');
  const agent = await ctx.locked(() => ctx.role.store.updateAgent(id, allow, ttl));
  await ctx.record({ action: 'agent.update', name: id, outcome: 'ok' });
  return agentInfo(agent, ctx.now());
}

export async function changeUnlock(
  ctx: OwnerContext, next: Pick<CreateVaultOptions, 'passphrase' | 'keyFile' | 'passphraseParams'>,
): Promise<void> {
  // The server keeps a verifier of the unlock key from creation: a new header alone would lock the owner out.
  directoryOnly(ctx, 'change how the vault is unlocked');
  await ctx.locked(() => replaceUnlock(ctx.backend, ctx.role.rootKey, ctx.role.signer, next));
  await ctx.record({ action: 'vault.rekey', outcome: 'ok' });
}

export async function backup(ctx: OwnerContext): Promise<Uint8Array> {
  directoryOnly(ctx, 'back up the vault');
  const bytes = await ctx.locked(() => exportBackup(ctx.backend, ctx.role.rootKey, ctx.now()));
  await ctx.record({ action: 'vault.backup', outcome: 'ok' });
  return bytes;
}

/** Refuse what server mode does not do yet (passwd, backup), before anything is read or written. */
function directoryOnly(ctx: OwnerContext, what: string): void {
  if (!ctx.onServer) return;
  throw new UsageError(`A vault on an agent-vault server cannot ${what} yet; nothing was changed. Use a vault directory for it.`);
}
