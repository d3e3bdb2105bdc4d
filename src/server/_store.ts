/**
 * The contract between the server's policy layer and a database (SQLite in _sqlite.ts,
 * PostgreSQL in _postgres.ts). A store keeps one vault: its public metadata, its signed state,
 * the signed entries and the server-side audit chain. It understands none of it: every check
 * (signatures, grants, expiry) happens in the policy layer inside `transaction`, so a write and
 * the audit records that go with it commit together or not at all, across every `serve`
 * process sharing the database.
 */
import type { Entry, State } from './_wire.ts';

/** What the server knows of its vault: all public or verifier-only, nothing that opens a record. */
export interface VaultMeta {
  vaultId: Uint8Array;
  /** The owner's Ed25519 public key; the vault id is its hash. */
  ownerPublicKey: Uint8Array;
  /** Hash of the owner's server auth key. */
  ownerVerifier: Uint8Array;
  /** The header's unlock method and parameters (JSON), so the owner can derive its auth key before reading the header. */
  unlock: string;
  /** The key the server MACs its audit records with (the owner re-derives it to verify them). */
  auditKey: Uint8Array;
}

/** One audit line still to be written: sealed once the store knows its seq and the previous record's hash. */
export type PendingAudit = (seq: number, prev: string) => { bytes: Uint8Array; hash: string };

/** What a transaction may do; everything it reads is as of the transaction. */
export interface StoreTx {
  meta(): Promise<VaultMeta | undefined>;
  state(): Promise<State | undefined>;
  /** The entries present (deletions included) among `keys`. */
  entries(keys: readonly string[]): Promise<Map<string, Entry>>;
  /** Keys of live (not deleted) entries starting with `prefix`. */
  list(prefix: string): Promise<string[]>;
  create(meta: VaultMeta): Promise<void>;
  /** Store entries and move the state; the caller has checked `state.rev` is the next one. */
  put(entries: readonly Entry[], state: State): Promise<void>;
  /** Append audit lines to the chain, after the newest. */
  audit(records: readonly PendingAudit[]): Promise<void>;
}

export interface ServerStore {
  /** `sqlite` or `postgres`, for errors and the health endpoint. */
  readonly name: string;
  /** Run `fn` in one serializable transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Audit lines after `afterSeq`, oldest first, at most `limit`. */
  auditLines(afterSeq: number, limit: number): Promise<Uint8Array[]>;
  /** Take or renew the owner's write lease for `holder` until `now + ttlMs`; false while another holds it. */
  lease(holder: string, ttlMs: number, now: number): Promise<boolean>;
  release(holder: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * When a transaction that resolved (and so a released secret's audit record) survives:
 * - `'write'`: a crash of the `serve` process, or SIGKILL, at any point (the database has it;
 *   SQLite WAL with synchronous=NORMAL, PostgreSQL with synchronous_commit=off). A power loss
 *   or an OS crash can lose the last moments of records. The default, as for the file audit log.
 * - `'fsync'`: a power loss too (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on):
 *   one flush per batch of transactions, which on a slow or busy disk bounds throughput.
 */
export type StoreDurability = 'write' | 'fsync';
