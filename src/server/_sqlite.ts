/**
 * The SQLite store, on node:sqlite (no native build), in WAL mode: synchronous=NORMAL by default
 * (a resolved transaction survives a crash of the process), FULL with durability 'fsync' (a
 * power loss too). Transactions that arrive together commit together (_group-commit.ts: one
 * commit per batch); a job that changed something and failed rolls back to its own savepoint.
 * Several processes may share the file: BEGIN IMMEDIATE takes SQLite's write lock, and
 * busy_timeout waits for it.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { BackendError, UsageError } from '../errors.ts';
import { groupCommit, type JobFn, type Outcome } from './_group-commit.ts';
import type { PendingAudit, ServerStore, StoreDurability, StoreTx, VaultMeta } from './_store.ts';
import type { Entry, State } from './_wire.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  vault_id BLOB NOT NULL, owner_public_key BLOB NOT NULL, owner_verifier BLOB NOT NULL,
  unlock TEXT NOT NULL, audit_key BLOB NOT NULL, rev INTEGER NOT NULL, state_sig BLOB);
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB, rev INTEGER NOT NULL, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, line BLOB NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;

export interface SqliteStoreOptions {
  /** The database file; created when missing. */
  path: string;
  /** See StoreDurability. Default `'write'`. */
  durability?: StoreDurability;
}

export async function sqliteStore(options: SqliteStoreOptions): Promise<ServerStore> {
  let sqlite: typeof import('node:sqlite');
  try {
    sqlite = await import('node:sqlite');
  } catch {
    throw new UsageError('The SQLite server store needs node:sqlite (Node.js 22.13 or later): upgrade Node, or use --database postgres://…');
  }
  const db = new sqlite.DatabaseSync(options.path);
  const synchronous = options.durability === 'fsync' ? 'FULL' : 'NORMAL';
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}; PRAGMA busy_timeout = 10000;`);
  db.exec(SCHEMA);
  return new SqliteStore(db);
}

class SqliteStore implements ServerStore {
  readonly name = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;
  readonly #tx: StoreTx;
  readonly transaction = groupCommit((batch) => this.#commit(batch));
  #mutated = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
    const prepare = (sql: string) => db.prepare(sql);
    this.#q = {
      meta: prepare('SELECT vault_id, owner_public_key, owner_verifier, unlock, audit_key FROM meta WHERE id = 1'),
      state: prepare('SELECT rev, state_sig FROM meta WHERE id = 1'),
      entry: prepare('SELECT key, value, rev, sig FROM entries WHERE key = ?'),
      list: prepare("SELECT key FROM entries WHERE value IS NOT NULL AND substr(key, 1, length(?1)) = ?1"),
      create: prepare('INSERT INTO meta (id, vault_id, owner_public_key, owner_verifier, unlock, audit_key, rev) VALUES (1, ?, ?, ?, ?, ?, 0)'),
      put: prepare('INSERT INTO entries (key, value, rev, sig) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, rev = excluded.rev, sig = excluded.sig'),
      setState: prepare('UPDATE meta SET rev = ?, state_sig = ? WHERE id = 1'),
      head: prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
      append: prepare('INSERT INTO audit (seq, line, hash) VALUES (?, ?, ?)'),
      lines: prepare('SELECT line FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
      lease: prepare('INSERT INTO lease (id, holder, expires_at) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET holder = ?1, expires_at = ?2 WHERE lease.holder = ?1 OR lease.expires_at <= ?3'),
      release: prepare('DELETE FROM lease WHERE holder = ?'),
    };
    const q = this.#q;
    const mutate = () => {
      if (!this.#mutated) db.exec('SAVEPOINT job');
      this.#mutated = true;
    };
    this.#tx = {
      meta: async () => {
        const row = q.meta!.get() as {
          vault_id: Uint8Array; owner_public_key: Uint8Array; owner_verifier: Uint8Array; unlock: string; audit_key: Uint8Array;
        } | undefined;
        return row && {
          vaultId: row.vault_id, ownerPublicKey: row.owner_public_key, ownerVerifier: row.owner_verifier,
          unlock: row.unlock, auditKey: row.audit_key,
        };
      },
      state: async () => {
        const row = q.state!.get() as { rev: number; state_sig: Uint8Array | null } | undefined;
        return row && row.state_sig ? { rev: row.rev, sig: row.state_sig } : undefined;
      },
      entries: async (keys) => {
        const out = new Map<string, Entry>();
        for (const key of keys) {
          const row = q.entry!.get(key) as { key: string; value: Uint8Array | null; rev: number; sig: Uint8Array } | undefined;
          if (row) out.set(key, { key: row.key, value: row.value, rev: row.rev, sig: row.sig });
        }
        return out;
      },
      list: async (prefix) => (q.list!.all(prefix) as { key: string }[]).map((row) => row.key),
      create: async (meta: VaultMeta) => {
        mutate();
        q.create!.run(meta.vaultId, meta.ownerPublicKey, meta.ownerVerifier, meta.unlock, meta.auditKey);
      },
      put: async (entries: readonly Entry[], state: State) => {
        mutate();
        for (const entry of entries) q.put!.run(entry.key, entry.value, entry.rev, entry.sig);
        q.setState!.run(state.rev, state.sig);
      },
      audit: async (records: readonly PendingAudit[]) => {
        mutate();
        const head = q.head!.get() as { seq: number; hash: string } | undefined;
        let seq = head?.seq ?? 0;
        let prev = head?.hash;
        for (const record of records) {
          const line = record(++seq, prev ?? '');
          q.append!.run(seq, line.bytes, line.hash);
          prev = line.hash;
        }
      },
    };
  }

  /** One SQLite transaction for the batch; a job that changed something and failed rolls back to its savepoint. */
  async #commit(jobs: JobFn[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      for (const fn of jobs) {
        // A savepoint only once a job changes something.
        this.#mutated = false;
        try {
          const value = await fn(this.#tx);
          if (this.#mutated) this.#db.exec('RELEASE job');
          outcomes.push({ ok: true, value });
        } catch (error) {
          if (this.#mutated) this.#db.exec('ROLLBACK TO job; RELEASE job');
          outcomes.push({ ok: false, error });
        }
      }
      this.#db.exec('COMMIT');
      return outcomes;
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw storeError(cause);
    }
  }

  async auditLines(afterSeq: number, limit: number): Promise<Uint8Array[]> {
    return (this.#q.lines!.all(afterSeq, limit) as { line: Uint8Array }[]).map((row) => row.line);
  }

  async lease(holder: string, ttlMs: number, now: number): Promise<boolean> {
    return Number(this.#q.lease!.run(holder, now + ttlMs, now).changes) === 1;
  }

  async release(holder: string): Promise<void> {
    this.#q.release!.run(holder);
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}

function storeError(cause: unknown): BackendError {
  const code = (cause as { code?: unknown; errcode?: unknown })?.errcode ?? (cause as { code?: unknown })?.code;
  return new BackendError(
    `The server's SQLite database failed${code === undefined ? '' : ` (${String(code)})`}. Check the disk and the file's permissions, then retry.`,
    { cause },
  );
}
