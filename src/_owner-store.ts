/**
 * The owner's side of the records: loading and writing agents, building secret records, and
 * keeping every secret's grants in step with the agents. Only an owner vault has one; it holds
 * the owner's keys, which nothing else here can reach.
 */
import type { Backend } from './backend.ts';
import { bytesToHex } from './_bytes.ts';
import { agentKey, agentLoc, nameKey, ownerKey } from './_keys.ts';
import {
  AGENT_ACTIVE, AGENT_REVOKED, ad, type AgentPolicy, decodeAgent, decodeSecret, encodeAgent, encodeSecret, type Grant,
  openPolicy, openValue, type SecretRecord,
} from './_records.ts';
import { KEY_BYTES, open, randomBytes, seal, toBase64Url, utf8, wipe } from './crypto.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './errors.ts';
import { checkAgentId, compileAllow } from './names.ts';
import { encodeToken } from './token.ts';
import type { AgentInfo, SecretInfo } from './options.ts';

/** The keys an owner holds: the root key and the two subkeys derived from it. */
export interface OwnerKeys {
  rootKey: Uint8Array;
  /** Seals names, agent ids and the owner's copy of every data key. */
  ownerKey: Uint8Array;
  /** Turns names into backend keys; agents receive it in their policy. */
  nameKey: Uint8Array;
}

export function ownerKeys(rootKey: Uint8Array): OwnerKeys {
  return {
    rootKey,
    ownerKey: ownerKey(rootKey),
    nameKey: nameKey(rootKey),
  };
}

/** An agent as the owner sees it, with its derived key. */
export interface LoadedAgent {
  id: string;
  loc: Uint8Array;
  generation: number;
  status: number;
  policy: AgentPolicy;
  key: Uint8Array;
  allows: (name: string) => boolean;
}

export function agentInfo(agent: LoadedAgent, now: number): AgentInfo {
  return {
    id: agent.id,
    status: agent.status === AGENT_REVOKED ? 'revoked' : agent.policy.expiresAt <= now ? 'expired' : 'active',
    allow: [...agent.policy.allow],
    generation: agent.generation,
    createdAt: new Date(agent.policy.createdAt),
    expiresAt: new Date(agent.policy.expiresAt),
  };
}


export class OwnerStore {
  readonly #backend: Backend;
  readonly #vaultId: Uint8Array;
  readonly #keys: OwnerKeys;
  readonly #now: () => number;

  constructor(backend: Backend, vaultId: Uint8Array, keys: OwnerKeys, now: () => number) {
    this.#backend = backend;
    this.#vaultId = vaultId;
    this.#keys = keys;
    this.#now = now;
  }

  agentAt(id: string, generation: number, status: number, policy: AgentPolicy): LoadedAgent {
    const key = agentKey(this.#keys.rootKey, id, generation);
    return { id, loc: agentLoc(this.#vaultId, id), generation, status, policy, key, allows: compileAllow(policy.allow) };
  }

  tokenFor(agent: LoadedAgent): string {
    return encodeToken({ vaultId: this.#vaultId, agentId: agent.id, generation: agent.generation, agentKey: agent.key });
  }

  async writeAgent(agent: LoadedAgent): Promise<void> {
    const loc = bytesToHex(agent.loc);
    const sealedId = seal(this.#keys.ownerKey, utf8.encode(agent.id), ad.agentId(this.#vaultId, loc));
    await this.#backend.set(
      `a/${loc}`,
      encodeAgent(this.#vaultId, agent.id, agent.generation, agent.status, sealedId, agent.key, agent.policy),
    );
  }

  async loadAgents(): Promise<LoadedAgent[]> {
    const agents: LoadedAgent[] = [];
    for (const backendKey of await this.#backend.list('a/')) {
      const bytes = await this.#backend.get(backendKey);
      if (!bytes) continue;
      const record = decodeAgent(bytes);
      const loc = backendKey.slice(2);
      const id = utf8.decode(open(this.#keys.ownerKey, record.sealedId, ad.agentId(this.#vaultId, loc), 'An agent record'));
      const key = agentKey(this.#keys.rootKey, id, record.generation);
      const policy = openPolicy(this.#vaultId, id, record, key, 'An agent record');
      agents.push({
        id, loc: agentLoc(this.#vaultId, id), generation: record.generation, status: record.status, policy, key,
        allows: compileAllow(policy.allow),
      });
    }
    return agents;
  }

  /** Store a new version of `name` under `nameId`, granted to every agent that should have it. */
  async setSecret(name: string, nameId: string, value: Uint8Array): Promise<number> {
    const previous = await this.#backend.get(`s/${nameId}`);
    const record = previous && decodeSecret(previous);
    const now = this.#now();
    const agents = (await this.loadAgents()).filter((agent) => this.shouldGrant(agent, name));
    const next = (record?.version ?? 0) + 1;
    await this.#backend.set(`s/${nameId}`, this.buildSecret(name, nameId, next, record?.createdAt ?? now, now, value, agents));
    return next;
  }

  /** Every secret's metadata, each record verified in full (its value opened and wiped at once). */
  async listSecrets(): Promise<SecretInfo[]> {
    const agents = await this.loadAgents();
    const ids = new Map(agents.map((agent) => [bytesToHex(agent.loc) + agent.generation, agent.id]));
    const out: SecretInfo[] = [];
    for (const key of await this.#backend.list('s/')) {
      const bytes = await this.#backend.get(key);
      if (!bytes) continue; // deleted meanwhile
      const nameId = key.slice(2);
      const record = decodeSecret(bytes);
      wipe(this.openValue(nameId, record));
      out.push({
        name: this.openName(nameId, record),
        version: record.version,
        createdAt: new Date(record.createdAt),
        updatedAt: new Date(record.updatedAt),
        agents: record.grants.map((g) => ids.get(bytesToHex(g.agentLoc) + g.generation)).filter((id) => id !== undefined).sort(),
      });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A new agent (or a revoked one made again, at the next generation) and its token. */
  async createAgent(id: string, allow: string[], ttl: number): Promise<{ token: string; agent: AgentInfo }> {
    const agents = await this.loadAgents();
    const existing = agents.find((agent) => agent.id === id);
    if (existing && existing.status === AGENT_ACTIVE) {
      throw new UsageError(
        `Agent "${id}" already exists. Rotate its token (rotateAgent) or revoke it first (revokeAgent).`,
      );
    }
    const now = this.#now();
    const policy = { allow, createdAt: now, expiresAt: now + ttl, nameKey: toBase64Url(this.#keys.nameKey) };
    const agent = this.agentAt(id, (existing?.generation ?? 0) + 1, AGENT_ACTIVE, policy);
    // Grants first, the agent record last: a crash in between leaves no usable half-agent.
    await this.syncGrants([...agents.filter((a) => a.id !== id), agent]);
    await this.writeAgent(agent);
    return { token: this.tokenFor(agent), agent: agentInfo(agent, now) };
  }

  /** Bump an agent's generation (killing older tokens) and re-grant to match. */
  async replaceAgent(id: string, status: number, ttl?: string | number): Promise<LoadedAgent> {
    checkAgentId(id);
    const agents = await this.loadAgents();
    const existing = agents.find((agent) => agent.id === id);
    if (!existing) throw new UsageError(`No agent "${id}" in this vault. See listAgents() or \`agent-vault agent list\`.`);
    if (existing.status === AGENT_REVOKED) throw new UsageError(`Agent "${id}" is already revoked; create it again instead.`);
    const now = this.#now();
    const lifetime = ttl === undefined ? existing.policy.expiresAt - existing.policy.createdAt : parseDuration(ttl, 'ttl');
    const policy = status === AGENT_ACTIVE
      ? { ...existing.policy, createdAt: now, expiresAt: now + lifetime }
      : existing.policy;
    const agent = this.agentAt(id, existing.generation + 1, status, policy);
    // The record first: older tokens fail from this write on, even if re-granting is interrupted.
    await this.writeAgent(agent);
    await this.syncGrants(agents.map((a) => (a.id === id ? agent : a)));
    return agent;
  }

  /**
   * Change an agent's patterns or lifetime in place, at the same generation, so its token keeps
   * working. Grants first, the record last: an interrupted narrowing has already taken the
   * grants away, an interrupted widening grants nothing the record does not yet allow to be read.
   */
  async updateAgent(id: string, allow: string[] | undefined, ttl: number | undefined): Promise<LoadedAgent> {
    checkAgentId(id);
    const agents = await this.loadAgents();
    const existing = agents.find((agent) => agent.id === id);
    if (!existing) throw new UsageError(`No agent "${id}" in this vault. See \`agent-vault agent list --all\`.`);
    if (existing.status === AGENT_REVOKED) throw new UsageError(`Agent "${id}" is revoked; create it again instead.`);
    const policy = {
      ...existing.policy,
      ...(allow !== undefined ? { allow } : {}),
      ...(ttl !== undefined ? { expiresAt: this.#now() + ttl } : {}),
    };
    const agent = this.agentAt(id, existing.generation, existing.status, policy);
    await this.syncGrants(agents.map((a) => (a.id === id ? agent : a)));
    await this.writeAgent(agent);
    return agent;
  }

  shouldGrant(agent: LoadedAgent, name: string): boolean {
    return agent.status === AGENT_ACTIVE && agent.policy.expiresAt > this.#now() && agent.allows(name);
  }

  /**
   * Make every secret's grants match `agents`: rewrite only records whose set of (agent,
   * generation) differs. Idempotent, so re-running it repairs an interrupted change.
   */
  async syncGrants(agents: LoadedAgent[]): Promise<void> {
    for (const key of await this.#backend.list('s/')) {
      const bytes = await this.#backend.get(key);
      if (!bytes) continue;
      const record = decodeSecret(bytes);
      const nameId = key.slice(2);
      const name = this.openName(nameId, record);
      const wanted = agents.filter((agent) => this.shouldGrant(agent, name));
      const have = record.grants.map((g) => bytesToHex(g.agentLoc) + g.generation).sort().join();
      if (wanted.map((a) => bytesToHex(a.loc) + a.generation).sort().join() === have) continue;
      const value = this.openValue(nameId, record);
      try {
        await this.#backend.set(
          key,
          this.buildSecret(name, nameId, record.version, record.createdAt, record.updatedAt, value, wanted),
        );
      } finally {
        wipe(value);
      }
    }
  }

  buildSecret(
    name: string, nameId: string, version: number, createdAt: number, updatedAt: number,
    value: Uint8Array, agents: LoadedAgent[],
  ): Uint8Array {
    const dek = randomBytes(KEY_BYTES);
    try {
      const grants: Grant[] = agents.map((agent) => ({
        agentLoc: agent.loc,
        generation: agent.generation,
        wrappedKey: seal(agent.key, dek, ad.grant(this.#vaultId, nameId, version, agent.id, agent.generation)),
      }));
      return encodeSecret({
        vaultId: this.#vaultId,
        nameId,
        version,
        createdAt,
        updatedAt,
        sealedName: seal(this.#keys.ownerKey, utf8.encode(name), ad.name(this.#vaultId, nameId)),
        ownerWrap: seal(this.#keys.ownerKey, dek, ad.ownerWrap(this.#vaultId, nameId, version)),
        grants,
        dek,
        value,
      });
    } finally {
      wipe(dek);
    }
  }

  openName(nameId: string, record: SecretRecord): string {
    return utf8.decode(open(this.#keys.ownerKey, record.sealedName, ad.name(this.#vaultId, nameId), 'A stored secret'));
  }

  /** Open a record's value with the owner's wrap of its data key; the caller wipes the result. */
  openValue(nameId: string, record: SecretRecord): Uint8Array {
    const dek = open(this.#keys.ownerKey, record.ownerWrap, ad.ownerWrap(this.#vaultId, nameId, record.version), 'A stored secret');
    try {
      return openValue(this.#vaultId, nameId, record, dek, 'A stored secret');
    } finally {
      wipe(dek);
    }
  }
}
