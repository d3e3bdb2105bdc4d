/**
 * The owner's view of records, apart from the operations that change them (src/_owner-store.ts):
 * the owner's keys, agents as the owner loads them, and building and opening secret records with
 * the owner's keys (OwnerSeals).
 */
import { inGrace } from './_grace.ts';
import { ad, AGENT_REVOKED, type AgentPolicy, encodeSecret, type Grant, openValue, type SecretRecord } from './_records.ts';
import { nameKey, ownerKey } from './_keys.ts';
import { ownerSigner, type Signer } from './_signed.ts';
import { KEY_BYTES, open, randomBytes, seal, utf8, wipe } from './crypto.ts';
import type { AgentInfo } from './options.ts';

/** The keys an owner holds: the root key and what is derived from it. */
export interface OwnerKeys {
  rootKey: Uint8Array;
  /** Seals names, agent ids and the owner's copy of every data key. */
  ownerKey: Uint8Array;
  /** Turns names into backend keys (`s/<nameId>`); never given to agents. */
  nameKey: Uint8Array;
  /** Signs every record, the state and the header. */
  signer: Signer;
}

export function ownerKeys(rootKey: Uint8Array): OwnerKeys {
  return { rootKey, ownerKey: ownerKey(rootKey), nameKey: nameKey(rootKey), signer: ownerSigner(rootKey) };
}

/** One (agent, generation) a data key is wrapped for, under that generation's key. */
export interface Grantee {
  id: string;
  loc: Uint8Array;
  generation: number;
  key: Uint8Array;
}

/** An agent as the owner sees it, with its derived key. */
export interface LoadedAgent extends Grantee {
  status: number;
  policy: AgentPolicy;
  allows: (name: string) => boolean;
  /** The generation a rotation with a grace replaced, with its key and its own list of names. */
  previous?: { generation: number; graceEndsAt: number; key: Uint8Array; policy: AgentPolicy };
}

export function agentInfo(agent: LoadedAgent, now: number): AgentInfo {
  return {
    id: agent.id,
    status: agent.status === AGENT_REVOKED ? 'revoked' : agent.policy.expiresAt <= now ? 'expired' : 'active',
    allow: [...agent.policy.allow],
    generation: agent.generation,
    createdAt: new Date(agent.policy.createdAt),
    expiresAt: new Date(agent.policy.expiresAt),
    // The rotation cut the grace to that token's expiry, so its end is when the old token stops.
    ...(inGrace(agent, now) ? { previous: { generation: agent.previous!.generation, until: new Date(agent.previous!.graceEndsAt) } } : {}),
  };
}

export interface ImportedAgent {
  id: string;
  generation: number;
  status: number;
  policy: Omit<AgentPolicy, 'names'>;
}

export interface ImportedSecret {
  name: string;
  nameId: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  value: Uint8Array;
}

/** Secret records built and opened with the owner's keys. */
export class OwnerSeals {
  readonly #vaultId: Uint8Array;
  readonly #keys: OwnerKeys;

  constructor(vaultId: Uint8Array, keys: OwnerKeys) {
    this.#vaultId = vaultId;
    this.#keys = keys;
  }

  buildSecret(
    seq: number, name: string, nameId: string, version: number, createdAt: number, updatedAt: number,
    value: Uint8Array, grantees: Grantee[],
  ): Uint8Array {
    const dek = randomBytes(KEY_BYTES);
    try {
      const grants: Grant[] = grantees.map((agent) => ({
        agentLoc: agent.loc,
        generation: agent.generation,
        wrappedKey: seal(agent.key, dek, ad.grant(this.#vaultId, nameId, version, agent.id, agent.generation)),
      }));
      return encodeSecret({
        vaultId: this.#vaultId,
        nameId,
        seq,
        version,
        createdAt,
        updatedAt,
        sealedName: seal(this.#keys.ownerKey, utf8.encode(name), ad.name(this.#vaultId, nameId)),
        ownerWrap: seal(this.#keys.ownerKey, dek, ad.ownerWrap(this.#vaultId, nameId, version)),
        grants,
        dek,
        value,
      }, this.#keys.signer);
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
