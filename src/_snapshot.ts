/**
 * One owner operation's view of the vault (src/_owner-store.ts changes it and commits a new
 * state): every agent record and the secret records it needs, each record's signature checked
 * and matched against the signed state, plus the marker that says an operation is writing.
 *
 * Why a snapshot: before records were signed, an agent could plant a record (wider patterns, a
 * later expiry, a revoked agent's older active record) and the owner's next ordinary command
 * would act on it. Now nothing the owner acts on is unsigned or older than the state says.
 */
import type { Backend } from './backend.ts';
import { graceEnded } from './_grace.ts';
import { bytesToHex } from './_bytes.ts';
import { agentKey } from './_keys.ts';
import type { LoadedAgent, OwnerKeys, OwnerSeals } from './_owner-records.ts';
import { ad, decodeAgent, decodeSecret, nextCounter, openPolicy, openPreviousPolicy, type SecretRecord } from './_records.ts';
import type { SignedPlace } from './_signed.ts';
import { recordHash, replayed, STATE_KEY, type StateEntry, type StateGuard, type VaultState, vouches } from './_state.ts';
import { open, utf8 } from './crypto.ts';
import { IntegrityError } from './errors.ts';
import { compileAllow } from './names.ts';

export interface SnapshotSecret {
  name: string;
  /** As loaded; undefined once this operation rewrote it. */
  record: SecretRecord | undefined;
  /** `<loc hex>:<generation>` of every grant. */
  grantees: Set<string>;
}

/** One operation's view: the state it started from and every record, verified. */
export interface Snapshot {
  state: VaultState;
  /** The counter this operation writes under: one above the state's. */
  seq: number;
  agents: LoadedAgent[];
  secrets: Map<string, SnapshotSecret>;
  /** The next state's manifest, kept in step with every write. */
  entries: Map<string, StateEntry>;
  /** Agents whose record in storage is exactly as the object says. */
  stored: Set<LoadedAgent>;
  /** Whether this operation has written the pending marker (and so must remove it). */
  begun: boolean;
  /**
   * The secrets this operation loaded (all of them when undefined): the only ones whose place
   * in agents' name lists it decides. A `set` of one name need not read ten thousand records.
   */
  only: string | undefined;
}

/**
 * Present while an owner operation is writing: records first, then the state, then this is
 * removed. Not signed, because it only ever makes the next operation do more (load every record);
 * one deleted by an attacker can only make a crashed operation's records unreadable (destroy).
 */
export const PENDING_KEY = 'pending';

export const granteeOf = (loc: Uint8Array, generation: number) => `${bytesToHex(loc)}:${generation}`;

/**
 * What loading needs from the owner store: its storage, keys and clock. The store builds it from
 * its private fields and hands it to nothing but loadSnapshot.
 */
export interface SnapshotSource {
  backend: Backend;
  vaultId: Uint8Array;
  keys: OwnerKeys;
  guard: StateGuard;
  now: () => number;
  seals: OwnerSeals;
  /** The agent's storage location (cached by the store). */
  locOf(id: string): Uint8Array;
  /** Where a record's owner signature must verify. */
  place(key: string): SignedPlace;
}

/**
 * Every agent record and every secret record (or, with `only`, that one secret's), each
 * verified and checked against the state. Call under the vault's lock.
 */
export async function loadSnapshot(source: SnapshotSource, only?: string): Promise<Snapshot> {
  const state = await startingState(source);
  // An operation that died before its state leaves records no state lists yet: load them all,
  // so this operation's state adopts them instead of listing their older hashes.
  if (only !== undefined && (await source.backend.get(PENDING_KEY))) only = undefined;
  const entries = new Map(state.entries);
  const agents: LoadedAgent[] = [];
  const stored = new Set<LoadedAgent>();
  for (const key of await source.backend.list('a/')) {
    const bytes = await source.backend.get(key);
    if (!bytes) continue;
    const record = decodeAgent(bytes, source.place(key));
    if (!vouches(state, key, bytes, record.seq)) throw replayed('An agent record');
    const id = utf8.decode(open(source.keys.ownerKey, record.sealedId, ad.agentId(source.vaultId, key.slice(2)), 'An agent record'));
    if (`a/${bytesToHex(source.locOf(id))}` !== key) throw new IntegrityError('An agent record is stored under another agent\'s location.');
    const agentSecret = agentKey(source.keys.rootKey, id, record.generation);
    const policy = openPolicy(source.vaultId, id, record, agentSecret, 'An agent record');
    const agent: LoadedAgent = {
      id, loc: source.locOf(id), generation: record.generation, status: record.status, policy, key: agentSecret,
      allows: compileAllow(policy.allow),
    };
    if (record.previous) {
      const { generation, graceEndsAt } = record.previous;
      const previousKey = agentKey(source.keys.rootKey, id, generation);
      const previousPolicy = openPreviousPolicy(source.vaultId, id, record.previous, previousKey, 'An agent record');
      agent.previous = { generation, graceEndsAt, key: previousKey, policy: previousPolicy };
    }
    agents.push(agent);
    stored.add(agent);
    entries.set(key, { number: record.generation, hash: recordHash(bytes) });
  }
  // A grace that has ended must leave every record, not only the one this operation changes.
  if (agents.some((agent) => graceEnded(agent, source.now()))) only = undefined;
  const secrets = new Map<string, SnapshotSecret>();
  const present = new Set<string>();
  for (const key of only === undefined ? await source.backend.list('s/') : [`s/${only}`]) {
    const bytes = await source.backend.get(key);
    if (!bytes) continue;
    const nameId = key.slice(2);
    const record = decodeSecret(bytes, source.place(key));
    if (!vouches(state, key, bytes, record.seq)) throw replayed('A stored secret');
    const grantees = new Set(record.grants.map((g) => granteeOf(g.agentLoc, g.generation)));
    secrets.set(nameId, { name: source.seals.openName(nameId, record), record, grantees });
    entries.set(key, { number: record.version, hash: recordHash(bytes) });
    present.add(key);
  }
  // A secret the state lists but storage lacks was deleted (by an interrupted delete, or destroyed):
  // it leaves the manifest, so its old record can never be put back. Agents stay, for their generation.
  for (const key of entries.keys()) {
    if (key.startsWith('s/') && !present.has(key) && (only === undefined || key === `s/${only}`)) entries.delete(key);
  }
  return { state, seq: nextCounter(state.counter, 'vault state counter'), agents, secrets, entries, stored, only, begun: false };
}

/** The stored state, or for a vault that has none and no records yet, an empty one. */
async function startingState(source: SnapshotSource): Promise<VaultState> {
  if (await source.backend.get(STATE_KEY)) return source.guard.current();
  const empty = (await source.backend.list('a/')).length === 0 && (await source.backend.list('s/')).length === 0;
  if (!empty || source.guard.floor.counter > 0) return source.guard.current(); // throws: the state is missing
  return { counter: 0, audit: undefined, entries: new Map() };
}
