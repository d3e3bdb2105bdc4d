/**
 * The server's rules, one method per API call. The server holds no key that opens anything: it
 * checks who is asking (an auth key against the verifier it keeps), what the owner signed (every
 * entry and the state, under the owner's Ed25519 key that the vault id pins), and for an agent
 * the owner-signed server policy (generation, status, expiry) and the grant list of the record
 * asked for. Each agent read of a secret writes its audit record in the same transaction that
 * reads it, before anything is sent (fail closed); a denial is recorded too.
 */
import { bytesToHex } from '../_bytes.ts';
import { decodeHeader, type SignedHeader, verifyHeader } from '../_header.ts';
import { decodeAgent, decodeSecret } from '../_records.ts';
import { decodeState, STATE_KEY } from '../_state.ts';
import { sealRecord, eventProblem, genesisHash } from '../audit/_chain.ts';
import type { AuditEvent } from '../audit/index.ts';
import { constantTimeEqual, signatureValid, utf8 } from '../crypto.ts';
import {
  AccessDeniedError, type AccessDeniedReason, IntegrityError, TokenExpiredError, UsageError, VaultError, VaultExistsError,
  VaultNotFoundError,
} from '../errors.ts';
import type { PendingAudit, ServerStore, StoreTx, VaultMeta } from './_store.ts';
import {
  decodePolicy, type Entry, entryMessage, KEY_PATTERN, type Principal, type ServerPolicy, type State, stateMessage,
  vaultIdFor, verifierOf,
} from './_wire.ts';

/** The most keys one read may name (the client asks for one or two). */
export const MAX_READ_KEYS = 64;

export interface ReadResult {
  state: State;
  entries: Entry[];
}

export class VaultService {
  readonly #store: ServerStore;
  readonly #now: () => number;
  #meta: VaultMeta | undefined;
  /** The owner's record-signing key (the header's `ownerKey`), which every stored record must verify under. */
  #recordKey: Uint8Array | undefined;

  constructor(store: ServerStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  get storeName(): string {
    return this.#store.name;
  }

  /** The vault's public face: id, owner public key and unlock parameters. Never the header. */
  async describe(): Promise<{ vaultId: Uint8Array; ownerPublicKey: Uint8Array; unlock: string } | undefined> {
    const meta = await this.#loadMeta();
    return meta && { vaultId: meta.vaultId, ownerPublicKey: meta.ownerPublicKey, unlock: meta.unlock };
  }

  /** Create the vault: the first owner to call claims this server. */
  async create(
    request: { ownerPublicKey: Uint8Array; ownerVerifier: Uint8Array; auditKey: Uint8Array; header: Entry; state: State },
  ): Promise<State> {
    const { ownerPublicKey, header, state } = request;
    if (ownerPublicKey.length !== 32 || request.ownerVerifier.length !== 32 || request.auditKey.length !== 32) {
      throw new UsageError('A vault creation needs a 32-byte owner public key, verifier and audit key.');
    }
    const vaultId = vaultIdFor(ownerPublicKey);
    if (header.key !== 'header' || header.value === null || header.rev !== 1 || state.rev !== 1) {
      throw new UsageError('A vault creation carries the header at revision 1.');
    }
    const decoded = recordSigned(decodeHeader(header.value));
    if (!constantTimeEqual(decoded.vaultId, vaultId)) {
      throw new IntegrityError('The header names another vault than the owner key pins. Create the vault with agent-vault.');
    }
    checkSignatures(vaultId, ownerPublicKey, state, [header]);
    const unlockJson = JSON.parse(utf8.decode(header.value)).unlock as object;
    const meta: VaultMeta = {
      vaultId, ownerPublicKey, ownerVerifier: request.ownerVerifier, unlock: JSON.stringify(unlockJson), auditKey: request.auditKey,
    };
    await this.#store.transaction(async (tx) => {
      if (await tx.meta()) {
        throw new VaultExistsError('This server already holds a vault. Open it with openVault({ server }), or start another server.');
      }
      await tx.create(meta);
      await tx.put([header], state);
      await tx.audit([this.#seal(meta, { actor: 'owner', generation: 0, action: 'vault.create', outcome: 'ok' })]);
    });
    this.#meta = meta;
    this.#recordKey = decoded.ownerKey;
    return state;
  }

  async read(principal: Principal, keys: readonly string[]): Promise<ReadResult> {
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_READ_KEYS || !keys.every((k) => typeof k === 'string' && KEY_PATTERN.test(k))) {
      throw new UsageError(`A read names 1 to ${MAX_READ_KEYS} record keys (header, state, s/…, a/…, p/…).`);
    }
    const meta = await this.#requireMeta();
    if (principal.kind === 'owner') {
      this.#checkOwner(meta, principal);
      return this.#store.transaction(async (tx) => ({ state: await requireState(tx), entries: [...(await tx.entries(keys)).values()] }));
    }
    return this.#agentRead(meta, principal, keys);
  }

  async list(principal: Principal, prefix: string): Promise<{ state: State; keys: string[] }> {
    const meta = await this.#requireMeta();
    this.#checkOwner(meta, principal);
    if (typeof prefix !== 'string' || prefix.length > 64) throw new UsageError('A list takes a short key prefix.');
    return this.#store.transaction(async (tx) => ({ state: await requireState(tx), keys: await tx.list(prefix) }));
  }

  /** An owner write: every entry well-formed and signed at the next revision, with the state. */
  async write(principal: Principal, state: State, entries: readonly Entry[]): Promise<State> {
    const meta = await this.#requireMeta();
    this.#checkOwner(meta, principal);
    if (entries.length === 0 || entries.length > MAX_READ_KEYS) throw new UsageError(`A write carries 1 to ${MAX_READ_KEYS} entries.`);
    const recordKey = await this.#loadRecordKey();
    for (const entry of entries) {
      if (entry.rev !== state.rev) throw new UsageError('Every entry of a write carries the revision of the new state.');
      checkWellFormed(meta, recordKey, entry);
    }
    checkSignatures(meta.vaultId, meta.ownerPublicKey, state, entries);
    await this.#store.transaction(async (tx) => {
      const current = await requireState(tx);
      if (state.rev !== current.rev + 1) throw conflict(current.rev);
      await tx.put(entries, state);
    });
    return state;
  }

  /** Events the owner reports about its own operations (names already hashed by the client). */
  async ownerEvents(principal: Principal, events: readonly Omit<AuditEvent, 'actor' | 'generation'>[]): Promise<void> {
    const meta = await this.#requireMeta();
    this.#checkOwner(meta, principal);
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_READ_KEYS) throw new UsageError('Send 1 to 64 audit events.');
    const records = events.map((event) => {
      const full: AuditEvent = {
        actor: 'owner', generation: 0, action: event.action, name: event.name, version: event.version, outcome: event.outcome,
        reason: event.reason, note: event.note,
      };
      const problem = eventProblem(full);
      if (problem || full.action === 'audit.recover') throw new UsageError(`Not an audit event the owner may send: ${problem ?? full.action}.`);
      return this.#seal(meta, full);
    });
    await this.#store.transaction((tx) => tx.audit(records));
  }

  async auditLines(principal: Principal, afterSeq: number, limit: number): Promise<Uint8Array[]> {
    const meta = await this.#requireMeta();
    this.#checkOwner(meta, principal);
    return this.#store.auditLines(afterSeq, limit);
  }

  /** Refuses anyone but the owner. */
  async owner(principal: Principal): Promise<void> {
    this.#checkOwner(await this.#requireMeta(), principal);
  }

  async lease(principal: Principal, holder: string, ttlMs: number): Promise<boolean> {
    this.#checkOwner(await this.#requireMeta(), principal);
    if (typeof holder !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(holder) || !Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > 120_000) {
      throw new UsageError('A lease takes a holder id (16-64 base64url characters) and ttlMs up to 120000.');
    }
    return this.#store.lease(holder, ttlMs, this.#now());
  }

  async release(principal: Principal, holder: string): Promise<void> {
    this.#checkOwner(await this.#requireMeta(), principal);
    if (typeof holder === 'string') await this.#store.release(holder);
  }

  /**
   * An agent's read: its own record and the secrets it names, each checked against the
   * owner-signed policy and the record's grants. The audit line of every secret asked for
   * (released or denied) commits in this transaction; a denial is thrown only after it.
   */
  async #agentRead(meta: VaultMeta, agent: Extract<Principal, { kind: 'agent' }>, keys: readonly string[]): Promise<ReadResult> {
    const own = `a/${agent.loc}`;
    const secrets = keys.filter((key) => key.startsWith('s/'));
    // The owner-signed state is public to the vault's agents: each checks every record against it.
    if (keys.some((key) => key !== own && key !== STATE_KEY && !key.startsWith('s/'))) {
      throw new AccessDeniedError('not-granted', 'An agent may read only the state, its own record and secrets granted to it.');
    }
    const recordKey = await this.#loadRecordKey();
    const actor = { actor: `agent:${agent.loc}`, generation: agent.generation };
    const outcome = await this.#store.transaction(async (tx) => {
      const wantsState = keys.includes(STATE_KEY);
      const found = await tx.entries([`p/${agent.loc}`, own, ...secrets, ...(wantsState ? [STATE_KEY] : [])]);
      const policyEntry = found.get(`p/${agent.loc}`);
      if (!policyEntry?.value) {
        return { denied: new AccessDeniedError('unknown-agent', 'This server has no such agent. Check AGENT_VAULT_SERVER and the token.') };
      }
      const policy = decodePolicy(policyEntry.value);
      const refusal = refuseAgent(policy, agent, this.#now());
      const audit: PendingAudit[] = [];
      if (refusal) {
        // A wrong key for a known agent is logged once per request; a stale generation too.
        audit.push(this.#seal(meta, { ...actor, action: 'secret.resolve', outcome: 'denied', reason: reasonOf(refusal) }));
        await tx.audit(audit);
        return { denied: refusal };
      }
      const entries: Entry[] = [];
      let denied: VaultError | undefined;
      for (const key of secrets) {
        const entry = found.get(key);
        const name = key.slice(2);
        if (!entry?.value) {
          if (entry) entries.push(entry); // a signed deletion: the client tells "deleted" from "dropped"
          audit.push(this.#seal(meta, { ...actor, action: 'secret.resolve', name, outcome: 'error', reason: 'SECRET_NOT_FOUND' }));
          continue;
        }
        const record = decodeSecret(entry.value, { vaultId: meta.vaultId, key, publicKey: recordKey });
        const granted = record.grants.some((g) => g.generation === agent.generation && bytesToHex(g.agentLoc) === agent.loc);
        if (!granted) {
          denied ??= new AccessDeniedError('not-granted', 'This agent holds no grant for that secret. The owner can widen its patterns.');
          audit.push(this.#seal(meta, { ...actor, action: 'secret.resolve', name, version: record.version, outcome: 'denied', reason: 'not-granted' }));
          continue;
        }
        audit.push(this.#seal(meta, { ...actor, action: 'secret.resolve', name, version: record.version, outcome: 'ok' }));
        entries.push(entry);
      }
      if (audit.length > 0) await tx.audit(audit);
      if (denied) return { denied };
      const mine = found.get(own);
      if (mine) entries.push(mine);
      const signedState = wantsState ? found.get(STATE_KEY) : undefined;
      if (signedState) entries.push(signedState);
      return { result: { state: await requireState(tx), entries } };
    });
    if (outcome.denied) throw outcome.denied;
    return outcome.result!;
  }

  #seal(meta: VaultMeta, event: AuditEvent): PendingAudit {
    const vault = bytesToHex(meta.vaultId);
    const now = this.#now();
    return (seq, prev) => sealRecord(event, seq, now, vault, prev || genesisHash(vault), meta.auditKey);
  }

  #checkOwner(meta: VaultMeta, principal: Principal): void {
    if (principal.kind !== 'owner' || !constantTimeEqual(verifierOf(principal.authKey), meta.ownerVerifier)) {
      throw new AccessDeniedError('owner-only', 'Only the vault owner may do this; check the key file or passphrase.');
    }
  }

  async #loadMeta(): Promise<VaultMeta | undefined> {
    // The metadata never changes once written, so it is read from the store only until it exists.
    this.#meta ??= await this.#store.transaction((tx) => tx.meta());
    return this.#meta;
  }

  /** The record-signing key from the stored header (format 2); it never changes, so it is read once. */
  async #loadRecordKey(): Promise<Uint8Array> {
    this.#recordKey ??= await this.#store.transaction(async (tx) => {
      const header = (await tx.entries(['header'])).get('header');
      if (!header?.value) throw new VaultNotFoundError('This server holds no vault yet. Create one: agent-vault init --server URL');
      return recordSigned(decodeHeader(header.value)).ownerKey;
    });
    return this.#recordKey;
  }

  async #requireMeta(): Promise<VaultMeta> {
    const meta = await this.#loadMeta();
    if (!meta) throw new VaultNotFoundError('This server holds no vault yet. Create one: agent-vault init --server URL');
    return meta;
  }
}

/** Why this agent may not read now, or undefined. */
function refuseAgent(policy: ServerPolicy, agent: Extract<Principal, { kind: 'agent' }>, now: number): VaultError | undefined {
  // A token a rotation replaced with a grace: its own verifier, until the grace ends (by this clock).
  const previous = policy.previous;
  if (previous && agent.generation === previous.generation && policy.status === 0) {
    if (!constantTimeEqual(verifierOf(agent.authKey), previous.verifier)) return badToken();
    if (now >= previous.until) {
      return new AccessDeniedError(
        'rotated',
        `This token was replaced by a newer one (rotated); its grace period ended at ${new Date(previous.until).toISOString()}. Use the new token.`,
      );
    }
    return undefined;
  }
  if (agent.generation < policy.generation) {
    return policy.status === 1
      ? new AccessDeniedError('revoked', 'This agent was revoked by the vault owner. Ask the owner for a new agent.')
      : new AccessDeniedError('rotated', 'This token was replaced by a newer one (rotated). Use the new token.');
  }
  if (agent.generation !== policy.generation || !constantTimeEqual(verifierOf(agent.authKey), policy.verifier)) return badToken();
  if (policy.status !== 0) return new AccessDeniedError('revoked', 'This agent was revoked by the vault owner.');
  if (now >= policy.expiresAt) {
    return new TokenExpiredError(`The agent token expired at ${new Date(policy.expiresAt).toISOString()}. Ask the owner to rotate it.`);
  }
  return undefined;
}

function badToken(): AccessDeniedError {
  return new AccessDeniedError('bad-token', 'The agent token does not match this server vault. Copy it again, or ask the owner to rotate it.');
}

function reasonOf(error: VaultError): string {
  return error instanceof AccessDeniedError ? (error.reason satisfies AccessDeniedReason) : error.code;
}

/** The key of the owner's in-progress marker; only the owner reads or writes it. */
const PENDING_KEY = 'pending';

/** The one record format each key holds, checked before it is stored. */
function checkWellFormed(meta: VaultMeta, recordKey: Uint8Array, entry: Entry): void {
  if (!KEY_PATTERN.test(entry.key)) throw new UsageError('Not a record key of this vault.');
  if (entry.value === null) {
    if (!entry.key.startsWith('s/') && entry.key !== PENDING_KEY) throw new UsageError('Only secrets are deleted; agents are revoked.');
    return;
  }
  // The owner's marker of an operation under way (PENDING_KEY in src/_snapshot.ts): unsigned, a short counter.
  if (entry.key === PENDING_KEY) {
    if (entry.value.length > 20 || !/^[0-9]+$/.test(utf8.decode(entry.value))) throw new UsageError('Not an operation marker.');
    return;
  }
  // Records are owner-signed inside too (format 2): one the owner's record key did not sign is refused here.
  const place = { vaultId: meta.vaultId, key: entry.key, publicKey: recordKey };
  if (entry.key === 'header') {
    const header = recordSigned(decodeHeader(entry.value));
    if (!constantTimeEqual(header.vaultId, meta.vaultId)) throw new IntegrityError('The header names another vault.');
    verifyHeader(header, recordKey);
  } else if (entry.key === STATE_KEY) decodeState(entry.value, place);
  else if (entry.key.startsWith('s/')) decodeSecret(entry.value, place);
  else if (entry.key.startsWith('a/')) decodeAgent(entry.value, place);
  else decodePolicy(entry.value);
}

/** A header a server accepts: format 2, signed by the record key it names (a format-1 vault is migrated first). */
function recordSigned(header: ReturnType<typeof decodeHeader>): SignedHeader {
  if (header.format !== 2) {
    throw new UsageError('A server vault holds format-2 headers only. Migrate the vault first: agent-vault migrate.');
  }
  verifyHeader(header, header.ownerKey);
  return header;
}

function checkSignatures(vaultId: Uint8Array, publicKey: Uint8Array, state: State, entries: readonly Entry[]): void {
  const ok = signatureValid(state.sig, stateMessage(vaultId, state.rev), publicKey) &&
    entries.every((e) => signatureValid(e.sig, entryMessage(vaultId, e.key, e.rev, e.value), publicKey));
  if (!ok) throw new IntegrityError('A record or the state is not signed by this vault\'s owner; nothing was stored.');
}

async function requireState(tx: StoreTx): Promise<State> {
  const state = await tx.state();
  if (!state) throw new VaultNotFoundError('This server holds no vault yet. Create one: agent-vault init --server URL');
  return state;
}

/** Another owner process wrote first: the caller re-reads and tries again. */
export class WriteConflictError extends UsageError {
  readonly current: number;
  constructor(current: number) {
    super(`The vault moved on (now at revision ${current}) while this change was prepared. Run the command again.`);
    this.current = current;
  }
}

function conflict(current: number): WriteConflictError {
  return new WriteConflictError(current);
}
