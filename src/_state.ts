/**
 * The vault's signed state (backend key `state`, format 2; FORMAT.md): a counter that grows by
 * one per owner operation, the audit log's head when it was written, and a manifest of every
 * agent (locator, generation) and secret (name id, version) with a hash of its current record.
 * Every record is checked against it before use, so an old genuine record replayed into place
 * (a revoked agent's active record, a value from before a rotation) is detected, not trusted.
 *
 * Records are written before the state that lists them, so a record newer than the state
 * (its `seq` above the counter) is the work of an owner operation still running or interrupted,
 * and is accepted; one at or below the counter must be exactly the one the state lists.
 *
 * Nothing comes back: a reader refuses a state older than the newest it has seen (an agent for
 * its process's lifetime; the owner also across runs, through src/_local-state.ts).
 */
import type { Backend } from './backend.ts';
import { ByteReader, ByteWriter, bytesToHex, equalBytes, hexToBytes, malformed } from './_bytes.ts';
import { LOC_BYTES } from './_keys.ts';
import { type Signer, type SignedPlace, signRecord, verifiedBody } from './_signed.ts';
import { digest, utf8 } from './crypto.ts';
import { BackendError, IntegrityError } from './errors.ts';

export const STATE_KEY = 'state';
const MAGIC = utf8.encode('AVT2');
const HASH_BYTES = 16;
const AUDIT_HASH_BYTES = 32;
const KIND_AGENT = 0;
const KIND_SECRET = 1;
const MAX_ENTRIES = 1_000_000;
const WHAT = "The vault's state";

/** One record the state vouches for: its generation (agents) or version (secrets), and its hash. */
export interface StateEntry {
  number: number;
  hash: Uint8Array;
}

export interface VaultState {
  counter: number;
  /** The audit log's last record when this state was written; undefined for an empty log or no sink. */
  audit: { seq: number; hash: string } | undefined;
  /** By backend key: `a/<loc hex>` and `s/<name id>`. */
  entries: Map<string, StateEntry>;
}

/** A floor under the state a reader accepts: the highest counter seen and that state's hash. */
export interface StateFloor {
  counter: number;
  hash?: string;
}

/**
 * A record read and checked: its bytes, what they decode to, the state that vouched for them,
 * and the backend's revision taken just before they were read (see Backend.revision), if any.
 */
export interface Checked<T> {
  bytes: Uint8Array;
  value: T;
  vouchedBy: VaultState | undefined;
  revision: string | undefined;
}

/** The state last read or written: its bytes, what they decode to, their hash, their revision. */
interface KnownState {
  bytes: Uint8Array;
  state: VaultState;
  hash: string;
  revision: string | undefined;
}

/** Where a floor is kept, shared by reference. */
export interface FloorCell {
  floor: StateFloor;
}

export function recordHash(bytes: Uint8Array): Uint8Array {
  return digest(bytes, HASH_BYTES);
}

export function stateHash(bytes: Uint8Array): string {
  return bytesToHex(digest(bytes, 32));
}

export function encodeState(state: VaultState, vaultId: Uint8Array, signer: Signer): Uint8Array {
  const writer = new ByteWriter().bytes(MAGIC).time(state.counter).time(state.audit?.seq ?? 0)
    .bytes(state.audit ? hexToBytes(state.audit.hash) : new Uint8Array(AUDIT_HASH_BYTES))
    .u32(state.entries.size);
  // In the map's order: readers need no canonical order (the signature covers these bytes), and
  // sorting every entry on every owner operation was the cost of a `set` in a large vault.
  for (const [key, entry] of state.entries) {
    writer.u8(key.startsWith('a/') ? KIND_AGENT : KIND_SECRET).bytes(hexToBytes(key.slice(2)))
      .u32(entry.number).bytes(entry.hash);
  }
  return signRecord(signer, vaultId, STATE_KEY, writer.finish());
}

export function decodeState(bytes: Uint8Array, place: Omit<SignedPlace, 'key'>): VaultState {
  const reader = new ByteReader(verifiedBody(bytes, { ...place, key: STATE_KEY }, WHAT), WHAT);
  if (!equalBytes(reader.bytes(4), MAGIC)) throw malformed(WHAT);
  const counter = reader.time();
  const auditSeq = reader.time();
  const auditHash = bytesToHex(reader.bytes(AUDIT_HASH_BYTES));
  const count = reader.u32();
  if (count > MAX_ENTRIES) throw malformed(WHAT);
  const entries = new Map<string, StateEntry>();
  for (let i = 0; i < count; i++) {
    const kind = reader.u8();
    if (kind !== KIND_AGENT && kind !== KIND_SECRET) throw malformed(WHAT);
    const key = `${kind === KIND_AGENT ? 'a' : 's'}/${bytesToHex(reader.bytes(LOC_BYTES))}`;
    entries.set(key, { number: reader.u32(), hash: reader.bytes(HASH_BYTES) });
  }
  if (reader.offset !== reader.data.length || entries.size !== count) throw malformed(WHAT);
  return { counter, audit: auditSeq === 0 ? undefined : { seq: auditSeq, hash: auditHash }, entries };
}

/** Whether `bytes` (a record written under state counter `seq`) is what `state` vouches for at `key`. */
export function vouches(state: VaultState, key: string, bytes: Uint8Array, seq: number): boolean {
  if (seq > state.counter) return true; // written by an operation whose state is not stored yet
  const entry = state.entries.get(key);
  return entry !== undefined && equalBytes(entry.hash, recordHash(bytes));
}

export function replayed(what: string): IntegrityError {
  return new IntegrityError(
    `${what} is not the one the vault's signed state lists: an older genuine copy was put back ` +
      '(a rollback or a replay). Nothing was read from it. Restore the vault directory from a backup, ' +
      'or have the owner set the secret (or rotate the agent) again.',
  );
}

/**
 * Reads the state for one vault, verified once per stored bytes, never older than its floor.
 * Shared by both roles: the agent's floor lives as long as its process, the owner's is loaded
 * from and saved to its config directory by the vault.
 */
export class StateGuard {
  readonly #backend: Backend;
  readonly #place: Omit<SignedPlace, 'key'>;
  readonly #cell: FloorCell;
  #last: KnownState | undefined;
  #inflight: Promise<VaultState> | undefined;

  constructor(backend: Backend, place: Omit<SignedPlace, 'key'>, cell: FloorCell = { floor: { counter: 0 } }) {
    this.#backend = backend;
    this.#place = place;
    this.#cell = cell;
  }

  get floor(): StateFloor {
    return this.#cell.floor;
  }

  /**
   * The stored state, checked against the floor (which it raises). Calls while a read is in
   * flight share it: a resolution checks two records (the agent's and the secret's) at once.
   */
  current(): Promise<VaultState> {
    this.#inflight ??= this.#readCurrent().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #readCurrent(): Promise<VaultState> {
    const last = this.#last;
    // The revision is taken before the read: if the state changes in between, the revision kept
    // is older than the bytes, so the next check reads again (never the other way round).
    const revision = this.#backend.revision?.(STATE_KEY);
    if (last && revision !== undefined && revision === last.revision) return this.#accept(last.state, last.hash);
    const bytes = await this.#backend.get(STATE_KEY);
    if (!bytes) {
      throw new IntegrityError(
        "The vault's state record is missing, so no record can be checked against it. Restore the vault " +
          'directory from a backup (an agent cannot recreate it; only the owner signs it).',
      );
    }
    // The same bytes verify the same way: neither the signature nor the hash is computed again.
    if (last && equalBytes(last.bytes, bytes)) {
      last.revision = revision;
      return this.#accept(last.state, last.hash);
    }
    const state = decodeState(bytes, this.#place);
    const hash = stateHash(bytes);
    this.#accept(state, hash);
    this.#last = { bytes, state, hash, revision };
    return state;
  }

  /**
   * The state, synchronously, while the backend's revision says it is the one last verified (the
   * floor is checked all the same); undefined when it has to be read (use `current()`).
   */
  unchangedState(): VaultState | undefined {
    const last = this.#last;
    if (last?.revision === undefined || this.#backend.revision?.(STATE_KEY) !== last.revision) return undefined;
    return this.#accept(last.state, last.hash);
  }

  /**
   * `cached`, synchronously, while the backend's revision says its bytes are unchanged and
   * `state` (from `unchangedState`) still vouches for them; undefined when it has to be read.
   */
  unchanged<T extends { seq: number }>(key: string, cached: Checked<T> | undefined, state: VaultState): Checked<T> | undefined {
    if (cached?.revision === undefined || this.#backend.revision?.(key) !== cached.revision) return undefined;
    if (cached.vouchedBy !== state) {
      if (!vouches(state, key, cached.bytes, cached.value.seq)) return undefined;
      cached.vouchedBy = state;
    }
    return cached;
  }

  /** A state this owner just wrote: accepted, and kept so the next read need not verify it again. */
  wrote(state: VaultState, bytes: Uint8Array): void {
    const hash = stateHash(bytes);
    this.#accept(state, hash);
    this.#last = { bytes, state, hash, revision: undefined };
  }

  /** Check a state (just read or just written) against the floor, and raise the floor to it. */
  #accept(state: VaultState, hash: string): VaultState {
    const floor = this.#cell.floor;
    if (state.counter < floor.counter || (state.counter === floor.counter && floor.hash !== undefined && floor.hash !== hash)) {
      throw new IntegrityError(
        `The vault's state went backwards (counter ${state.counter}, newest seen ${floor.counter}): the vault ` +
          'directory was rolled back to an older copy. Nothing was read from it. Restore the newest backup; ' +
          'if you rolled it back yourself, see FORMAT.md ("the owner\'s state") to reset the floor.',
      );
    }
    if (state.counter > floor.counter || floor.hash === undefined) this.#cell.floor = { counter: state.counter, hash };
    return state;
  }

  /**
   * Check a record just read at `key` against the state. A mismatch may be a race with an owner
   * operation that replaced the record after it was read: then the stored bytes differ, and this
   * returns false so the caller reads again. The same bytes still unvouched for is a replay.
   */
  async check(key: string, bytes: Uint8Array, seq: number, what: string): Promise<boolean> {
    if (vouches(await this.current(), key, bytes, seq)) return true;
    const again = await this.#backend.get(key);
    if (!again || !equalBytes(again, bytes)) return false;
    // A state read that starts after the record was read again (not one already in flight).
    if (vouches(await this.#readCurrent(), key, bytes, seq)) return true;
    throw replayed(what);
  }

  /**
   * Read the record at `key`, decode it (which verifies its signature) and check it against the
   * state; undefined when there is none. While the stored bytes are `cached`'s (the backend's
   * revision is unchanged, or the bytes compare equal), nothing is decoded or verified again: the
   * same bytes verify the same way.
   */
  async read<T extends { seq: number }>(
    key: string,
    decode: (bytes: Uint8Array) => T,
    what: string,
    cached?: Checked<T>,
  ): Promise<Checked<T> | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      // Taken before the read, as in #readCurrent.
      const revision = this.#backend.revision?.(key);
      let bytes: Uint8Array | undefined;
      let same = cached !== undefined && revision !== undefined && revision === cached.revision;
      if (same) {
        bytes = cached!.bytes;
      } else {
        bytes = await this.#backend.get(key);
        if (!bytes) return undefined;
        same = cached !== undefined && equalBytes(cached.bytes, bytes);
      }
      if (cached && same) {
        // Unchanged bytes need no second signature check, but they must still be what the state
        // (checked again) lists, or a superseded record put back would be served.
        const state = await this.current();
        if (cached.vouchedBy === state || vouches(state, key, bytes, cached.value.seq)) {
          cached.vouchedBy = state;
          cached.revision = revision;
          return cached;
        }
      }
      const value = decode(bytes);
      if (await this.check(key, bytes, value.seq, what)) return { bytes, value, vouchedBy: this.#last?.state, revision };
    }
    throw new BackendError(`${what} kept changing while it was read (owner operations in progress). Try again.`);
  }
}
