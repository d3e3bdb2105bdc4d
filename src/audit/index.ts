/**
 * The audit wing's contract, and all that the core imports from it: the event, record, filter
 * and report types, the AuditSink interface and the owner's keyring. No node:* module here.
 * The file sink is ./file.ts (the `agent-vault/audit-file` subpath, node-only), the in-memory
 * one ./memory.ts (the memory backend's own); the files starting with `_` are private to this
 * folder: the record format and chain check (_chain.ts), names sealed to the owner (_names.ts,
 * used by the vault), read filters (_filter.ts), line reading (_lines.ts), the append lock
 * (_lock.ts), kept across a burst of appends (_append-lock.ts), and the log's file handling
 * (_log-file.ts).
 *
 * The vault calls `append` once per event, before it releases anything;
 * when `append` rejects, the operation fails closed with AuditError.
 *
 * A log is a sequence of records, one JSON object per line (the format is in _chain.ts).
 * Each record carries its sequence number, the hash of the record before it (`prev`) and a MAC
 * under its writer's audit key. The owner's key is derived from the root key and an agent's from
 * its agent key, which the owner can re-derive from the agent id and generation: so every writer
 * can make only its own records, and the owner can check everyone's.
 *
 * What verification proves, and what it cannot:
 * - Any record modified, inserted, deleted, duplicated, reordered or forged (made by one writer
 *   in another's name) is reported by the first sequence number that can no longer be trusted;
 *   checking goes on past it, so later problems are reported too and later records verified.
 * - A log must start with an owner record: one started afresh or replaced by an agent (which
 *   holds no owner key) is reported as `replaced`, and an agent cannot start a log.
 * - A torn last line (a writer crashed mid-append, or power failed before the write reached the
 *   disk) is told apart from tampering: it is trimmed and an `audit.recover` record says so.
 * - Removing the newest records (truncating the file at a line boundary, or deleting it) leaves
 *   a log that is a valid prefix of the real one: nothing inside the file can show what is gone.
 *   An external anchor closes this: keep `report.last` (seq and hash) of each verification
 *   somewhere the writers cannot rewrite (a ticket, a remote log, a print-out), and pass it back
 *   as `{ anchor }`; a log that no longer reaches that record, or holds a different one there,
 *   fails with `truncated`. A writer that sees the file shrink under it also records that.
 * - A writer may append records in its own name with any content; the MAC proves who wrote a
 *   record, not that its content is true. An agent never holds another writer's key.
 */
import { agentKey, auditKey } from '../_keys.ts';
import { wipe } from '../crypto.ts';

export type AuditAction =
  | 'secret.resolve'
  | 'secret.set'
  | 'secret.delete'
  | 'agent.create'
  | 'agent.rotate'
  | 'agent.revoke'
  /** An agent's patterns or lifetime changed in place; its token stays (`agent update`). */
  | 'agent.update'
  | 'vault.create'
  | 'vault.open'
  /** The root key was re-sealed under a new passphrase or key file (`passwd`). */
  | 'vault.rekey'
  /** An encrypted backup of every record was made (`backup`). */
  | 'vault.backup'
  /** Written by the broker: one proxied request (route, method, path, status, duration in `note`). */
  | 'broker.request'
  /** Written by the broker: a phantom key minted or revoked over its admin socket (`note` says which). */
  | 'broker.key'
  /** Written by the log itself: a torn tail was trimmed, or the log shrank or was replaced. */
  | 'audit.recover';

export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'secret.resolve', 'secret.set', 'secret.delete', 'agent.create', 'agent.rotate', 'agent.revoke', 'agent.update',
  'vault.create', 'vault.open', 'vault.rekey', 'vault.backup', 'broker.request', 'broker.key', 'audit.recover',
];

export type AuditOutcome = 'ok' | 'denied' | 'error';

export interface AuditEvent {
  /** `owner` or `agent:<id>`. */
  actor: string;
  /**
   * The writer's token generation (agents count from 1; the owner is 0). With the actor it names
   * the key that MACs the record, so the owner can re-derive it to verify.
   */
  generation: number;
  action: AuditAction;
  /** The secret name, or the agent id for agent.* actions. Never a value, never a token. */
  name?: string;
  version?: number;
  outcome: AuditOutcome;
  /** Why it was denied or failed: an error code or AccessDeniedError reason. */
  reason?: string;
  /**
   * For audit.recover: what was found, e.g. `trimmed 37 bytes`, made by the sink. For
   * broker.request: the phantom key's name, route, method, path (no query), status and duration.
   * Never secret.
   */
  note?: string;
}

/** What the vault passes with each event. */
export interface AuditContext {
  /** The vault id (hex). */
  vaultId: string;
  /** The writer's audit key (derived from its own key, so only that writer and the owner can make its records). */
  macKey: Uint8Array;
  /** The vault's clock, in milliseconds since the epoch. */
  now: number;
}

/** One stored record, as `readAudit` returns it. */
/** A record as stored: the event, where it sits in the chain, and its writer's MAC. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  /** ISO 8601, UTC, from the writer's clock. */
  time: string;
  /** The vault id (hex). */
  vault: string;
  /** BLAKE2b-256 (hex) of the previous record's line; for seq 1, of the vault's genesis label. */
  prev: string;
  /** Keyed BLAKE2b-256 (hex) of this line up to `prev`, under the writer's audit key. */
  mac: string;
}

/** What `readAudit` selects. Every field is optional; records come newest first. */
export interface AuditFilter {
  /** Only records at or after this time (Date, ms since the epoch, or ISO string). */
  since?: Date | number | string;
  /** Only records at or before this time. */
  until?: Date | number | string;
  /** Only records written by this agent (its id, without `agent:`). */
  agent?: string;
  /** Only records written by this actor (`owner` or `agent:<id>`). */
  actor?: string;
  /** Only records about this secret name (or agent id, for agent.* actions). */
  name?: string;
  /** Only these actions. */
  action?: AuditAction | AuditAction[];
  /** Stop after this many records. Default: no limit. */
  limit?: number;
}

/** Where a log stopped being trustworthy. */
export interface AuditProblem {
  kind:
    | 'modified'     // a record's bytes changed after it was written (MAC or format fails)
    | 'forged'       // a record MACed by another writer than the one it names
    | 'inserted'     // an extra record, or two different records claiming one seq
    | 'deleted'      // records missing: the next present one has a later seq
    | 'duplicated'   // a copy of an earlier record
    | 'reordered'    // records present but out of order
    | 'wrong-vault'  // a record of another vault
    | 'replaced'     // the log does not start with an owner record: started afresh or replaced by an agent
    | 'truncated';   // the log does not reach, or does not hold, the anchor record
  /** The first sequence number that cannot be trusted: records 1 … seq-1 verified. */
  seq: number;
  /** The 1-based line of the log where it was found. */
  line: number;
  message: string;
}

export interface AuditReport {
  /** True when every record verified (and the anchor, if given, matched). */
  ok: boolean;
  /** How many records verified, from seq 1. */
  records: number;
  /**
   * The last verified record: store it outside the log and pass it back as the anchor next
   * time. For an empty log, seq 0 and the genesis hash.
   */
  last: { seq: number; hash: string };
  /** The first problem, when there is one. */
  problem?: AuditProblem;
  /**
   * Every problem found (at most 100), oldest first: verification goes on past a bad line, and
   * the records after it are checked too.
   */
  problems: AuditProblem[];
  /** A torn last line found by this run (a crash mid-append); `trimmed` when it was removed. */
  torn?: { bytes: number; trimmed: boolean };
  /** The log's own audit.recover records (torn tails trimmed earlier, a shrunk or replaced log). */
  recoveries: AuditRecord[];
}

export interface AuditVerifyOptions {
  /** A `report.last` kept outside the log: the log must still hold exactly this record. */
  anchor?: { seq: number; hash: string };
  /** Trim a torn last line and record that (default true); false only reports it. */
  repair?: boolean;
}

/** What a sink needs to verify: the writers' keys (owner only) and, to record a repair, the owner's. */
export interface AuditVerifyContext extends AuditContext {
  keys: AuditKeyring;
}

/** The audit key of any writer of one vault, derived on demand from the root key (owner only). */
export interface AuditKeyring {
  /** The key of `actor` at `generation`, or undefined when no writer can have that identity. */
  keyFor(actor: string, generation: number): Uint8Array | undefined;
  /** Every key derived so far, to tell which writer made a forged record. */
  known(): Iterable<{ actor: string; generation: number; key: Uint8Array }>;
  wipe(): void;
}

export interface AuditSink {
  /**
   * Durably append one event for vault `context.vaultId`, MACed under `context.macKey`. Resolves
   * only once the record is written as durably as the sink promises; rejects otherwise.
   */
  append(event: AuditEvent, context: AuditContext): Promise<void>;
  /** Optional: records matching `filter`, newest first, streamed. No verification. */
  read?(filter?: AuditFilter): AsyncIterable<AuditRecord>;
  /**
   * Optional: the log's last complete record as it stands (seq 0 and the genesis hash when the
   * log is empty), for the owner to anchor in its signed state after each operation, so that a
   * later `verify({ anchor })` shows anything cut or rewritten before it.
   */
  head?(vaultId: string): Promise<{ seq: number; hash: string }>;
  /** Optional: check the chain and every MAC; see AuditReport. */
  verify?(context: AuditVerifyContext, options?: AuditVerifyOptions): Promise<AuditReport>;
  close?(): Promise<void>;
}

export { AUDIT_KEY_LABEL } from '../_keys.ts';
const AGENT_ACTOR = /^agent:([a-z0-9][a-z0-9._-]{0,63})$/;
const MAX_GENERATION = 0xffff_ffff;

/**
 * Every writer's audit key, derived from the root key: the owner's is
 * auditKey(rootKey); an agent's is auditKey(agentKey(rootKey, id, generation)), exactly as the
 * vault derives them (src/_keys.ts).
 */
export function auditKeyring(rootKey: Uint8Array): AuditKeyring {
  const keys = new Map<string, { actor: string; generation: number; key: Uint8Array }>();
  return {
    keyFor(actor, generation) {
      const id = `${actor}#${generation}`;
      const known = keys.get(id);
      if (known) return known.key;
      let key: Uint8Array;
      if (actor === 'owner' && generation === 0) {
        key = auditKey(rootKey);
      } else {
        const agent = AGENT_ACTOR.exec(actor)?.[1];
        if (agent === undefined || !Number.isInteger(generation) || generation < 1 || generation > MAX_GENERATION) {
          return undefined;
        }
        const agentSecret = agentKey(rootKey, agent, generation);
        key = auditKey(agentSecret);
        wipe(agentSecret);
      }
      keys.set(id, { actor, generation, key });
      return key;
    },
    known() {
      return keys.values();
    },
    wipe() {
      for (const { key } of keys.values()) wipe(key);
      keys.clear();
    },
  };
}
