/**
 * The owner's side of the records: every owner operation loads a verified snapshot of the vault
 * (src/_snapshot.ts: each record's signature checked and matched against the signed state),
 * changes it, and commits a new state that lists every record by hash. Only an owner vault has
 * one; it holds the owner's keys, which nothing else here can reach (it lends them to the
 * snapshot loader alone).
 */
import type { Backend } from './backend.ts';
import { dropEndedGraces, graceFor, granteesOf } from './_grace.ts';
import { bytesToHex } from './_bytes.ts';
import { agentKey, agentLoc } from './_keys.ts';
import {
  agentInfo, type Grantee, type ImportedAgent, type ImportedSecret, type LoadedAgent, type OwnerKeys, OwnerSeals,
} from './_owner-records.ts';
import { AGENT_ACTIVE, AGENT_REVOKED, ad, type AgentPolicy, encodeAgent, MAX_TIME, nextCounter } from './_records.ts';
import { granteeOf, loadSnapshot, PENDING_KEY, type Snapshot, type SnapshotSource } from './_snapshot.ts';
import { encodeState, recordHash, STATE_KEY, type StateGuard, type VaultState } from './_state.ts';
import { seal, utf8, wipe } from './crypto.ts';
import { parseDuration } from './duration.ts';
import { SecretNotFoundError, UsageError } from './errors.ts';
import { checkAgentId, compileAllow } from './names.ts';
import { encodeToken } from './token.ts';
import type { AgentInfo, SecretInfo } from './options.ts';

export interface OwnerStoreOptions {
  backend: Backend;
  vaultId: Uint8Array;
  keys: OwnerKeys;
  now: () => number;
  guard: StateGuard;
  /** The audit log's head now, recorded in each new state (undefined: no sink, or it cannot tell). */
  auditHead: () => Promise<{ seq: number; hash: string } | undefined>;
  /** Called with each state this owner commits: remember it outside the vault directory. */
  committed: () => Promise<void>;
}

export class OwnerStore {
  readonly #backend: Backend;
  readonly #vaultId: Uint8Array;
  readonly #keys: OwnerKeys;
  readonly #now: () => number;
  readonly #guard: StateGuard;
  readonly #options: OwnerStoreOptions;
  readonly #locs = new Map<string, Uint8Array>();
  readonly #seals: OwnerSeals;
  readonly #source: SnapshotSource;

  constructor(options: OwnerStoreOptions) {
    this.#options = options;
    this.#backend = options.backend;
    this.#vaultId = options.vaultId;
    this.#keys = options.keys;
    this.#now = options.now;
    this.#guard = options.guard;
    this.#seals = new OwnerSeals(options.vaultId, options.keys);
    this.#source = {
      backend: options.backend, vaultId: options.vaultId, keys: options.keys, guard: options.guard, now: options.now,
      seals: this.#seals, locOf: (id) => this.locOf(id), place: (key) => this.place(key),
    };
  }

  place(key: string) {
    return { vaultId: this.#vaultId, key, publicKey: this.#keys.signer.publicKey };
  }

  locOf(id: string): Uint8Array {
    let loc = this.#locs.get(id);
    if (!loc) this.#locs.set(id, (loc = agentLoc(this.#keys.rootKey, id)));
    return loc;
  }

  agentAt(id: string, generation: number, status: number, policy: AgentPolicy): LoadedAgent {
    const key = agentKey(this.#keys.rootKey, id, generation);
    return { id, loc: this.locOf(id), generation, status, policy, key, allows: compileAllow(policy.allow) };
  }

  tokenFor(agent: LoadedAgent): string {
    return encodeToken({
      vaultId: this.#vaultId, agentId: agent.id, generation: agent.generation, loc: agent.loc,
      ownerKey: this.#keys.signer.publicKey, agentKey: agent.key,
    });
  }

  /** The first state of a new vault: counter 1, nothing in it. */
  async createState(): Promise<void> {
    const state: VaultState = { counter: 0, audit: undefined, entries: new Map() };
    await this.#commit({ state, seq: 1, agents: [], secrets: new Map(), entries: new Map(), stored: new Set(), only: undefined, begun: false });
  }

  /**
   * Write another format's contents as signed records, in one operation (the migration,
   * src/_migrate.ts): each agent keeps its id, patterns, dates and status at the generation
   * given, each secret its name, version and dates, granted as `set` would grant it.
   */
  async importRecords(agents: ImportedAgent[], secrets: ImportedSecret[], state: VaultState): Promise<LoadedAgent[]> {
    const snap: Snapshot = {
      state, seq: nextCounter(state.counter, 'vault state counter'), agents: [], secrets: new Map(), entries: new Map(),
      stored: new Set(), only: undefined, begun: false,
    };
    snap.agents = agents.map((a) => this.agentAt(a.id, a.generation, a.status, { ...a.policy, names: {} }));
    for (const secret of secrets) {
      const granted = snap.agents.flatMap((agent) => this.#granteesOf(agent, secret.name));
      const bytes = this.#seals.buildSecret(
        snap.seq, secret.name, secret.nameId, secret.version, secret.createdAt, secret.updatedAt, secret.value, granted,
      );
      await this.#put(snap, `s/${secret.nameId}`, bytes, secret.version);
      snap.secrets.set(secret.nameId, { name: secret.name, record: undefined, grantees: new Set(granted.map((a) => granteeOf(a.loc, a.generation))) });
    }
    await this.#commit(snap);
    return snap.agents;
  }

  /**
   * Sign a new state over the records as they stand, numbered above `floor` (a restore,
   * src/_backup.ts): every record is verified first, as for any operation, and the audit anchor is
   * the log's head now or none, never the backed-up vault's (its log is not in the backup).
   */
  async restamp(floor: number): Promise<void> {
    const snap = await this.#snapshot();
    snap.seq = nextCounter(Math.max(floor, snap.state.counter), 'vault state counter');
    snap.state = { ...snap.state, audit: undefined };
    snap.begun = (await this.#backend.get(PENDING_KEY)) !== undefined;
    await this.#commit(snap);
  }

  // ---- loading ----

  /** The verified snapshot (src/_snapshot.ts) every operation starts from. Call under the vault's lock. */
  #snapshot(only?: string): Promise<Snapshot> {
    return loadSnapshot(this.#source, only);
  }

  // ---- writing ----

  /** Mark an operation under way before its first write (see PENDING_KEY). */
  async #begin(snap: Snapshot): Promise<void> {
    if (snap.begun) return;
    await this.#backend.set(PENDING_KEY, utf8.encode(String(snap.seq)));
    snap.begun = true;
  }

  async #put(snap: Snapshot, key: string, bytes: Uint8Array, number: number): Promise<void> {
    await this.#begin(snap);
    await this.#backend.set(key, bytes);
    snap.entries.set(key, { number, hash: recordHash(bytes) });
  }

  async #writeAgent(snap: Snapshot, agent: LoadedAgent): Promise<void> {
    const loc = bytesToHex(agent.loc);
    const sealedId = seal(this.#keys.ownerKey, utf8.encode(agent.id), ad.agentId(this.#vaultId, loc));
    const previous = agent.previous && { ...agent.previous, agentKey: agent.previous.key };
    const bytes = encodeAgent({
      vaultId: this.#vaultId, loc, seq: snap.seq, agentId: agent.id, generation: agent.generation, status: agent.status,
      sealedId, agentKey: agent.key, policy: agent.policy, previous,
    }, this.#keys.signer);
    await this.#put(snap, `a/${loc}`, bytes, agent.generation);
    snap.stored.add(agent);
  }

  /**
   * Bring every agent's list of granted names in step with the grants (writing each agent record
   * that is new or changed), write the new state with the audit head, and remember it.
   */
  async #commit(snap: Snapshot, agents: LoadedAgent[] = snap.agents): Promise<void> {
    for (const agent of agents) {
      const names = namesOf(snap, agent.loc, agent.generation, agent.policy.names);
      const previous = agent.previous;
      const previousNames = previous && namesOf(snap, agent.loc, previous.generation, previous.policy.names);
      if (snap.stored.has(agent) && sameNames(names, agent.policy.names) && (!previous || sameNames(previousNames!, previous.policy.names))) {
        continue;
      }
      agent.policy = { ...agent.policy, names };
      // The old token reads with the agent's patterns of now, never wider than the new token's.
      if (previous) agent.previous = { ...previous, policy: { ...previous.policy, allow: agent.policy.allow, names: previousNames! } };
      await this.#writeAgent(snap, agent);
    }
    const state: VaultState = {
      counter: snap.seq,
      audit: (await this.#options.auditHead()) ?? snap.state.audit,
      entries: snap.entries,
    };
    const bytes = encodeState(state, this.#vaultId, this.#keys.signer);
    await this.#backend.set(STATE_KEY, bytes);
    if (snap.begun) await this.#backend.delete(PENDING_KEY);
    this.#guard.wrote(state, bytes);
    await this.#options.committed();
  }

  // ---- secrets ----

  /** Store a new version of `name` under `nameId`, granted to every agent that should have it. */
  async setSecret(name: string, nameId: string, value: Uint8Array): Promise<number> {
    const snap = await this.#snapshot(nameId);
    await this.#endGraces(snap);
    const previous = snap.secrets.get(nameId)?.record;
    const version = nextCounter(previous?.version ?? 0, `version of secret "${name}"`);
    const now = this.#now();
    const agents = snap.agents.flatMap((agent) => this.#granteesOf(agent, name));
    const bytes = this.#seals.buildSecret(snap.seq, name, nameId, version, previous?.createdAt ?? now, now, value, agents);
    await this.#put(snap, `s/${nameId}`, bytes, version);
    snap.secrets.set(nameId, { name, record: undefined, grantees: new Set(agents.map((a) => granteeOf(a.loc, a.generation))) });
    await this.#commit(snap);
    return version;
  }

  async deleteSecret(name: string, nameId: string): Promise<void> {
    const snap = await this.#snapshot(nameId);
    if (!snap.secrets.has(nameId)) throw notFound(name);
    await this.#endGraces(snap);
    await this.#begin(snap);
    await this.#backend.delete(`s/${nameId}`);
    snap.secrets.delete(nameId);
    snap.entries.delete(`s/${nameId}`);
    await this.#commit(snap);
  }

  /** Every secret's metadata, each record verified in full (its value opened and wiped at once). */
  async listSecrets(): Promise<SecretInfo[]> {
    const snap = await this.#snapshot();
    const ids = new Map(snap.agents.map((agent) => [granteeOf(agent.loc, agent.generation), agent.id]));
    const out: SecretInfo[] = [];
    for (const [nameId, { name, record, grantees }] of snap.secrets) {
      wipe(this.#seals.openValue(nameId, record!));
      out.push({
        name,
        version: record!.version,
        createdAt: new Date(record!.createdAt),
        updatedAt: new Date(record!.updatedAt),
        agents: [...grantees].map((g) => ids.get(g)).filter((id) => id !== undefined).sort(),
      });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- agents ----

  async listAgents(): Promise<LoadedAgent[]> {
    return (await this.#snapshot()).agents;
  }

  /** A new agent (or a revoked or destroyed one made again, at a generation never used before) and its token. */
  async createAgent(id: string, allow: string[], ttl: number): Promise<{ token: string; agent: AgentInfo }> {
    const snap = await this.#snapshot();
    await this.#endGraces(snap);
    const existing = snap.agents.find((agent) => agent.id === id);
    if (existing && existing.status === AGENT_ACTIVE) {
      throw new UsageError(
        `Agent "${id}" already exists. Rotate its token (rotateAgent) or revoke it first (revokeAgent).`,
      );
    }
    const now = this.#now();
    // The state remembers every generation ever issued, even of a record since destroyed, so a
    // re-created id never gets an old generation's key (and so never an old token).
    const used = Math.max(existing?.generation ?? 0, snap.entries.get(`a/${bytesToHex(this.locOf(id))}`)?.number ?? 0);
    const policy = { allow, createdAt: now, expiresAt: expiryAfter(now, ttl), names: {} };
    const agent = this.agentAt(id, nextCounter(used, `generation of agent "${id}"`), AGENT_ACTIVE, policy);
    const agents = [...snap.agents.filter((a) => a.id !== id), agent];
    // Grants first, the agent record last (in the commit): a crash in between leaves no usable half-agent.
    await this.#syncGrants(snap, agents);
    await this.#commit(snap, agents);
    return { token: this.tokenFor(agent), agent: agentInfo(agent, now) };
  }

  /**
   * Bump an agent's generation and re-grant to match. Older tokens stop at once, except with a
   * `grace` (rotation only): the token being replaced keeps its scope until the grace ends (never
   * past its own expiry). Only one generation is ever kept: a token already in a grace dies now.
   */
  async replaceAgent(id: string, status: number, ttl?: string | number, grace?: string | number): Promise<LoadedAgent> {
    checkAgentId(id);
    const graceMs = grace === undefined ? undefined : parseDuration(grace, 'grace');
    const snap = await this.#snapshot();
    await this.#endGraces(snap);
    const existing = snap.agents.find((agent) => agent.id === id);
    if (!existing) throw new UsageError(`No agent "${id}" in this vault. See listAgents() or \`agent-vault agent list\`.`);
    if (existing.status === AGENT_REVOKED) throw new UsageError(`Agent "${id}" is already revoked; create it again instead.`);
    const now = this.#now();
    const lifetime = ttl === undefined ? existing.policy.expiresAt - existing.policy.createdAt : parseDuration(ttl, 'ttl');
    const policy = status === AGENT_ACTIVE
      ? { ...existing.policy, createdAt: now, expiresAt: expiryAfter(now, lifetime) }
      : { ...existing.policy, names: {} };
    const agent = this.agentAt(id, nextCounter(existing.generation, `generation of agent "${id}"`), status, policy);
    if (status === AGENT_ACTIVE && graceMs !== undefined) agent.previous = graceFor(existing, graceMs, now);
    // The record first: older tokens fail from this write on, even if re-granting is interrupted.
    await this.#writeAgent(snap, agent);
    const agents = snap.agents.map((a) => (a.id === id ? agent : a));
    await this.#syncGrants(snap, agents);
    await this.#commit(snap, agents);
    return agent;
  }

  /**
   * Change an agent's patterns or lifetime (from now) at the same generation, so its token keeps
   * working, and re-grant so it holds keys for exactly what it may now read. In three steps, so an
   * interrupted update never leaves the agent a key its record does not allow: grants it loses
   * are removed first, then the record is written, then grants it gains are added.
   */
  async updateAgent(id: string, allow: string[] | undefined, ttl: number | undefined): Promise<LoadedAgent> {
    checkAgentId(id);
    const snap = await this.#snapshot();
    await this.#endGraces(snap);
    const existing = snap.agents.find((agent) => agent.id === id);
    if (!existing) throw new UsageError(`No agent "${id}" in this vault. See \`agent-vault agent list --all\`.`);
    if (existing.status === AGENT_REVOKED) throw new UsageError(`Agent "${id}" is revoked; create it again instead.`);
    const policy = { ...existing.policy, allow: allow ?? existing.policy.allow };
    if (ttl !== undefined) policy.expiresAt = expiryAfter(this.#now(), ttl);
    const agent: LoadedAgent = { ...existing, policy, allows: compileAllow(policy.allow) };
    const both: LoadedAgent = {
      ...agent, policy: { ...policy, expiresAt: Math.min(policy.expiresAt, existing.policy.expiresAt) },
      allows: (name) => existing.allows(name) && agent.allows(name),
    };
    const others = snap.agents.filter((a) => a.id !== id);
    await this.#syncGrants(snap, [...others, both]);
    await this.#writeAgent(snap, agent);
    const agents = [...others, agent];
    await this.#syncGrants(snap, agents);
    await this.#commit(snap, agents);
    return agent;
  }

  #granteesOf(agent: LoadedAgent, name: string): Grantee[] {
    return granteesOf(agent, name, this.#now());
  }

  /**
   * End every grace that is over, in storage too: the agent record loses it (at the commit) and
   * every secret its wrapped keys, so the old token opens nothing even read from the files.
   * #snapshot loads every secret when there is one to end.
   */
  async #endGraces(snap: Snapshot): Promise<void> {
    if (dropEndedGraces(snap.agents, this.#now(), (agent) => snap.stored.delete(agent))) await this.#syncGrants(snap, snap.agents);
  }

  /** Make every secret's grants match `agents`: rewrite only records whose set of (agent, generation) differs. */
  async #syncGrants(snap: Snapshot, agents: LoadedAgent[]): Promise<void> {
    for (const [nameId, secret] of snap.secrets) {
      const record = secret.record!;
      const wanted = agents.flatMap((agent) => this.#granteesOf(agent, secret.name));
      const grantees = new Set(wanted.map((a) => granteeOf(a.loc, a.generation)));
      if (grantees.size === secret.grantees.size && [...grantees].every((g) => secret.grantees.has(g))) continue;
      const value = this.#seals.openValue(nameId, record);
      try {
        const bytes = this.#seals.buildSecret(snap.seq, secret.name, nameId, record.version, record.createdAt, record.updatedAt, value, wanted);
        await this.#put(snap, `s/${nameId}`, bytes, record.version);
        secret.grantees = grantees;
      } finally {
        wipe(value);
      }
    }
  }

}

/** `now + ttl`, refused when a Date could not hold it (so `agent list` can always print it). */
function expiryAfter(now: number, ttl: number): number {
  const expiresAt = now + ttl;
  if (!Number.isSafeInteger(expiresAt) || expiresAt > MAX_TIME) {
    throw new UsageError(`The ttl is too long: the token would expire after ${new Date(MAX_TIME).toISOString()}. Choose a shorter ttl.`);
  }
  return expiresAt;
}

/** The names granted to (loc, generation) now, sorted; those of secrets not loaded stay as `had` lists them. */
function namesOf(snap: Snapshot, loc: Uint8Array, generation: number, had: Record<string, string>): Record<string, string> {
  const me = granteeOf(loc, generation);
  const granted = [...snap.secrets].filter(([, secret]) => secret.grantees.has(me)).map(([id, secret]) => [secret.name, id]);
  const kept = snap.only === undefined ? [] : Object.entries(had).filter(([, id]) => id !== snap.only && snap.entries.has(`s/${id}`));
  return Object.assign(Object.create(null), Object.fromEntries([...kept, ...granted].sort(([a], [b]) => (a! < b! ? -1 : 1))));
}

function sameNames(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

function notFound(name: string): SecretNotFoundError {
  return new SecretNotFoundError(
    `No secret named "${name}" in this vault. The owner can add it: agent-vault set ${JSON.stringify(name)}`,
  );
}
