/**
 * The owner's operations behind Vault's owner-only methods (secrets, agents, the vault's upkeep,
 * the audit log): each checks its arguments, runs under the vault's lock through the owner store
 * or the header, and writes its audit record. Kept out of src/vault.ts, which holds the public
 * face (each method's documentation), reading secrets, and the two roles' shared plumbing.
 */
import type { Backend } from './backend.ts';
import {
  type AuditEvent, type AuditFilter, auditKeyring, type AuditRecord, type AuditReport, type AuditSink, type AuditVerifyOptions,
} from './audit/index.ts';
import { openNames } from './audit/_names.ts';
import { exportBackup } from './_backup.ts';
import { replaceUnlock } from './_open.ts';
import { agentInfo } from './_owner-records.ts';
import { anchoredHead, type OwnerRole } from './_owner-role.ts';
import { AGENT_ACTIVE, AGENT_REVOKED } from './_records.ts';
import { utf8, wipe } from './crypto.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './errors.ts';
import { canonicalName, checkAgentId, compileAllow } from './names.ts';
import type { AgentInfo, CreateAgentOptions, CreateVaultOptions, SecretInfo, UpdateAgentOptions } from './options.ts';

const DEFAULT_TTL = '30d';

/** What an operation needs from the vault that runs it. */
export interface OwnerContext {
  role: OwnerRole;
  backend: Backend;
  /** A vault on an `agent-vault serve` server rather than a directory or backend of its own. */
  onServer: boolean;
  now: () => number;
  locked<T>(fn: () => Promise<T>): Promise<T>;
  record(event: Omit<AuditEvent, 'actor' | 'generation'>): Promise<void>;
  /** A canonical name's storage id under this owner's name key. */
  nameId(name: string): string;
  audit: AuditSink | undefined;
  /** The owner's audit key, which MACs the owner's own records. */
  auditKey: Uint8Array;
  /** The vault's public id (hex). */
  id: string;
}

// ---- secrets ----

export async function setSecret(ctx: OwnerContext, name: string, value: string | Uint8Array): Promise<{ version: number }> {
  const canonical = canonicalName(name);
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new UsageError('A secret value must be a string or a Uint8Array.');
  }
  const bytes = typeof value === 'string' ? utf8.encode(value) : Uint8Array.from(value);
  try {
    const nameId = ctx.nameId(canonical);
    const version = await ctx.locked(() => ctx.role.store.setSecret(canonical, nameId, bytes));
    await ctx.record({ action: 'secret.set', name: canonical, version, outcome: 'ok' });
    return { version };
  } finally {
    wipe(bytes);
  }
}

export async function listSecrets(ctx: OwnerContext): Promise<SecretInfo[]> {
  return ctx.locked(() => ctx.role.store.listSecrets());
}

export async function deleteSecret(ctx: OwnerContext, name: string): Promise<void> {
  const canonical = canonicalName(name);
  const nameId = ctx.nameId(canonical);
  await ctx.locked(() => ctx.role.store.deleteSecret(canonical, nameId));
  await ctx.record({ action: 'secret.delete', name: canonical, outcome: 'ok' });
}

// ---- agents ----

export async function createAgent(ctx: OwnerContext, id: string, options: CreateAgentOptions): Promise<{ token: string; agent: AgentInfo }> {
  checkAgentId(id);
  const allow = (options?.allow ?? []).map((pattern) => canonicalName(pattern));
  compileAllow(allow);
  const ttl = parseDuration(options?.ttl ?? DEFAULT_TTL, 'ttl');
  const result = await ctx.locked(() => ctx.role.store.createAgent(id, allow, ttl));
  await ctx.record({ action: 'agent.create', name: id, outcome: 'ok' });
  return result;
}

export async function listAgents(ctx: OwnerContext): Promise<AgentInfo[]> {
  const now = ctx.now();
  const agents = await ctx.locked(() => ctx.role.store.listAgents());
  return agents.map((agent) => agentInfo(agent, now)).sort((a, b) => (a.id < b.id ? -1 : 1));
}

export async function revokeAgent(ctx: OwnerContext, id: string): Promise<void> {
  await ctx.locked(() => ctx.role.store.replaceAgent(id, AGENT_REVOKED));
  await ctx.record({ action: 'agent.revoke', name: id, outcome: 'ok' });
}

export async function rotateAgent(
  ctx: OwnerContext, id: string, options: { ttl?: string | number; grace?: string | number },
): Promise<{ token: string; agent: AgentInfo }> {
  const result = await ctx.locked(async () => {
    const agent = await ctx.role.store.replaceAgent(id, AGENT_ACTIVE, options.ttl, options.grace);
    return { token: ctx.role.store.tokenFor(agent), agent: agentInfo(agent, ctx.now()) };
  });
  const previous = result.agent.previous;
  const note = options.grace === undefined
    ? undefined
    : previous
      ? `grace: generation ${previous.generation} until ${previous.until.toISOString()}`
      : 'grace: none (the previous token had expired)';
  await ctx.record({ action: 'agent.rotate', name: id, outcome: 'ok', ...(note === undefined ? {} : { note }) });
  return result;
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

// ---- the vault ----

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

// ---- audit ----

export async function verifyAudit(ctx: OwnerContext, options: AuditVerifyOptions): Promise<AuditReport> {
  const sink = auditSink(ctx, 'verify');
  const anchor = options.anchor ?? (await anchoredHead(ctx.role, ctx.backend));
  const keys = auditKeyring(ctx.role.rootKey);
  try {
    return await sink.verify!({ vaultId: ctx.id, macKey: ctx.auditKey, now: ctx.now(), keys }, { ...options, anchor });
  } finally {
    keys.wipe();
  }
}

export function readAudit(ctx: OwnerContext, filter: AuditFilter): AsyncIterable<AuditRecord> {
  const sink = auditSink(ctx, 'read');
  return openNames((sinkFilter) => sink.read!(sinkFilter), filter, auditKeyring(ctx.role.rootKey));
}

function auditSink(ctx: OwnerContext, capability: 'read' | 'verify'): AuditSink {
  if (!ctx.audit?.[capability]) {
    throw new UsageError(
      ctx.audit
        ? `This vault's audit sink cannot ${capability} its records; use the tool that stores them.`
        : 'This vault has no audit sink: the default file backend audits to audit.jsonl; pass { audit } for others.',
    );
  }
  return ctx.audit;
}
