/**
 * The PostgreSQL store, on the `pg` package (an optional peer, loaded here and only here).
 * Several `serve` processes may share one database and behave as one vault: every transaction
 * first locks the audit head row (`FOR UPDATE`), so writes and audit appends are serialized
 * across processes, a revocation committed by one process is seen by the next request to any
 * other, and the chain never forks. As with SQLite, transactions that arrive together share one
 * database transaction (one commit, one WAL flush); a job that fails after it changed something
 * is rolled back to its own savepoint, and its audit lines (buffered until the batch commits)
 * are dropped with it.
 */
import type { Pool, PoolClient } from 'pg';
import { asMissingPeer } from '../_peers.ts';
import { BackendError } from '../errors.ts';
import { groupCommit, type JobFn, type Outcome } from './_group-commit.ts';
import type { PendingAudit, ServerStore, StoreDurability, StoreTx, VaultMeta } from './_store.ts';
import type { Entry, State } from './_wire.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agent_vault_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  vault_id BYTEA NOT NULL, owner_public_key BYTEA NOT NULL, owner_verifier BYTEA NOT NULL,
  unlock TEXT NOT NULL, audit_key BYTEA NOT NULL, rev BIGINT NOT NULL, state_sig BYTEA);
CREATE TABLE IF NOT EXISTS agent_vault_entries (key TEXT PRIMARY KEY, value BYTEA, rev BIGINT NOT NULL, sig BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS agent_vault_audit (seq BIGINT PRIMARY KEY, line BYTEA NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agent_vault_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS agent_vault_lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_at BIGINT NOT NULL);
INSERT INTO agent_vault_head (id, seq, hash) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING;
`;
/** Any constant: serializes schema creation when several servers start at once. */
const SCHEMA_LOCK = 0x61765f73;

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (or a unix socket via `?host=/path`). */
  url: string;
  /** Connections in the pool. Default 4. */
  max?: number;
  /** See StoreDurability. Default `'write'`. */
  durability?: StoreDurability;
}

export async function postgresStore(options: PostgresStoreOptions): Promise<ServerStore> {
  let PoolClass: typeof import('pg').Pool;
  try {
    const pg = await import('pg');
    // pg is CommonJS: its classes hang off the default export under ESM.
    PoolClass = (pg as unknown as { default?: typeof pg }).default?.Pool ?? pg.Pool;
  } catch (error) {
    throw asMissingPeer(error, 'The PostgreSQL server store') ?? error;
  }
  const pool = new PoolClass({ connectionString: options.url, max: options.max ?? 4 });
  pool.on('error', () => undefined); // an idle client's lost connection: the next query reports it
  if (options.durability !== 'fsync') pool.on('connect', (client) => void client.query('SET synchronous_commit TO off').catch(() => undefined));
  try {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw storeError(cause);
  }
  return new PostgresStore(pool);
}

class PostgresStore implements ServerStore {
  readonly name = 'postgres';
  readonly #pool: Pool;
  readonly transaction = groupCommit((batch) => this.#commit(batch));

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** One database transaction for the batch, holding the audit head's row lock throughout. */
  async #commit(jobs: JobFn[]): Promise<Outcome[]> {
    let client: PoolClient | undefined;
    const outcomes: Outcome[] = [];
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      const headRow = await client.query('SELECT seq, hash FROM agent_vault_head WHERE id = 1 FOR UPDATE');
      const head = { seq: Number(headRow.rows[0].seq), hash: headRow.rows[0].hash as string };
      const lines: { seq: number; bytes: Uint8Array; hash: string }[] = [];
      for (const fn of jobs) {
        const { tx, pending, mutated } = this.#jobTx(client, head);
        const mark = { seq: head.seq, hash: head.hash };
        try {
          const value = await fn(tx);
          lines.push(...pending);
          if (mutated()) await client.query('RELEASE SAVEPOINT job');
          outcomes.push({ ok: true, value });
        } catch (error) {
          if (mutated()) await client.query('ROLLBACK TO SAVEPOINT job');
          Object.assign(head, mark);
          outcomes.push({ ok: false, error });
        }
      }
      if (lines.length > 0) {
        await client.query(
          'INSERT INTO agent_vault_audit (seq, line, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[])',
          [lines.map((l) => l.seq), lines.map((l) => Buffer.from(l.bytes)), lines.map((l) => l.hash)],
        );
        await client.query('UPDATE agent_vault_head SET seq = $1, hash = $2 WHERE id = 1', [head.seq, head.hash]);
      }
      await client.query('COMMIT');
      return outcomes;
    } catch (cause) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw storeError(cause);
    } finally {
      client?.release();
    }
  }

  /** One job's view of the batch transaction: mutations under a savepoint, audit lines buffered. */
  #jobTx(client: PoolClient, head: { seq: number; hash: string }) {
    let mutated = false;
    const pending: { seq: number; bytes: Uint8Array; hash: string }[] = [];
    const mutate = async () => {
      if (!mutated) await client.query('SAVEPOINT job');
      mutated = true;
    };
    const tx: StoreTx = {
      meta: async () => {
        const { rows } = await client.query('SELECT vault_id, owner_public_key, owner_verifier, unlock, audit_key FROM agent_vault_meta WHERE id = 1');
        const row = rows[0];
        return row && {
          vaultId: bytes(row.vault_id), ownerPublicKey: bytes(row.owner_public_key), ownerVerifier: bytes(row.owner_verifier),
          unlock: row.unlock, auditKey: bytes(row.audit_key),
        };
      },
      state: async () => {
        const { rows } = await client.query('SELECT rev, state_sig FROM agent_vault_meta WHERE id = 1');
        return rows[0]?.state_sig ? { rev: Number(rows[0].rev), sig: bytes(rows[0].state_sig) } : undefined;
      },
      entries: async (keys) => {
        const { rows } = await client.query('SELECT key, value, rev, sig FROM agent_vault_entries WHERE key = ANY($1::text[])', [keys]);
        return new Map<string, Entry>(rows.map((row) => [row.key, {
          key: row.key, value: row.value === null ? null : bytes(row.value), rev: Number(row.rev), sig: bytes(row.sig),
        }]));
      },
      list: async (prefix) => {
        const { rows } = await client.query('SELECT key FROM agent_vault_entries WHERE value IS NOT NULL AND starts_with(key, $1)', [prefix]);
        return rows.map((row) => row.key as string);
      },
      create: async (meta: VaultMeta) => {
        await mutate();
        await client.query(
          'INSERT INTO agent_vault_meta (id, vault_id, owner_public_key, owner_verifier, unlock, audit_key, rev) VALUES (1, $1, $2, $3, $4, $5, 0)',
          [meta.vaultId, meta.ownerPublicKey, meta.ownerVerifier, meta.unlock, meta.auditKey].map((v) => (typeof v === 'string' ? v : Buffer.from(v))),
        );
      },
      put: async (entries: readonly Entry[], state: State) => {
        await mutate();
        await client.query(
          `INSERT INTO agent_vault_entries (key, value, rev, sig)
             SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bytea[])
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, rev = excluded.rev, sig = excluded.sig`,
          [entries.map((e) => e.key), entries.map((e) => (e.value === null ? null : Buffer.from(e.value))), entries.map((e) => e.rev),
            entries.map((e) => Buffer.from(e.sig))],
        );
        await client.query('UPDATE agent_vault_meta SET rev = $1, state_sig = $2 WHERE id = 1', [state.rev, Buffer.from(state.sig)]);
      },
      audit: async (records: readonly PendingAudit[]) => {
        for (const record of records) {
          const line = record(head.seq + 1, head.hash);
          head.seq += 1;
          head.hash = line.hash;
          pending.push({ seq: head.seq, ...line });
        }
      },
    };
    return { tx, pending, mutated: () => mutated };
  }

  async auditLines(afterSeq: number, limit: number): Promise<Uint8Array[]> {
    const { rows } = await this.#pool.query('SELECT line FROM agent_vault_audit WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])
      .catch((cause) => {
        throw storeError(cause);
      });
    return rows.map((row) => bytes(row.line));
  }

  async lease(holder: string, ttlMs: number, now: number): Promise<boolean> {
    const result = await this.#pool.query(
      `INSERT INTO agent_vault_lease (id, holder, expires_at) VALUES (1, $1, $2)
       ON CONFLICT (id) DO UPDATE SET holder = $1, expires_at = $2 WHERE agent_vault_lease.holder = $1 OR agent_vault_lease.expires_at <= $3`,
      [holder, now + ttlMs, now],
    ).catch((cause) => {
      throw storeError(cause);
    });
    return result.rowCount === 1;
  }

  async release(holder: string): Promise<void> {
    await this.#pool.query('DELETE FROM agent_vault_lease WHERE holder = $1', [holder]).catch((cause) => {
      throw storeError(cause);
    });
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }
}

/** pg returns bytea as a Buffer; the core compares plain Uint8Arrays. */
function bytes(value: Buffer): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.length);
}

function storeError(cause: unknown): BackendError {
  const code = (cause as { code?: unknown })?.code;
  return new BackendError(
    `The server's PostgreSQL database failed${typeof code === 'string' ? ` (${code})` : ''}. Check that it is reachable and the role may write, then retry.`,
    { cause },
  );
}
