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
import { KEY_BYTES, open, randomBytes, seal, utf8, wipe } from './crypto.ts';
import { compileAllow } from './names.ts';
import { encodeToken } from './token.ts';
import type { AgentInfo } from './options.ts';

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
