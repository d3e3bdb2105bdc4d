/** A `serve` in this test process over a fresh SQLite file, and an owner vault created on it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createVault, type Vault } from '../../src/index.ts';
import { type RunningServer, startServer, type StartServerOptions } from '../../src/server/index.ts';
import { tempDir } from '../_fixtures/index.ts';
import { freshDatabase, POSTGRES_URL } from './_postgres.ts';
import { bytesToHex } from '../../src/_bytes.ts';
import { serverAuthKey } from '../../src/_keys.ts';
import { authorization } from '../../src/server/_wire.ts';
import { parseToken } from '../../src/token.ts';

// Owners remember each server vault's newest state across runs; tests keep that memory to themselves.
process.env.AGENT_VAULT_STATE_DIR ??= tempDir('agent-vault-state-');

const running: RunningServer[] = [];
afterAll(async () => {
  for (const server of running.splice(0)) await server.close();
});

export type StoreKind = 'sqlite' | 'postgres';

/** The stores to run a suite on: SQLite always, PostgreSQL when the test server is configured. */
export const STORES: StoreKind[] = POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** A `serve` in this process over a fresh SQLite file or PostgreSQL database. */
export async function storeServer(
  kind: StoreKind, options: Partial<StartServerOptions> = {},
): Promise<RunningServer & { dir: string; database: string }> {
  return kind === 'sqlite' || options.database ? sqliteServer(options) : sqliteServer({ ...options, database: await freshDatabase() });
}

export async function sqliteServer(options: Partial<StartServerOptions> = {}): Promise<RunningServer & { dir: string; database: string }> {
  const dir = tempDir('agent-vault-server-');
  const database = options.database ?? join(dir, 'vault.db');
  const server = await startServer({ port: 0, ...options, database });
  running.push(server);
  return { ...server, dir, database };
}

/** A new vault on `url`, owned with a fresh key file in `dir`. */
export async function ownerOn(url: string, dir: string): Promise<{ owner: Vault; keyFile: string }> {
  const keyFile = join(dir, `owner-${Math.random().toString(36).slice(2)}.key`);
  const owner = await createVault({ server: url, keyFile });
  return { owner, keyFile };
}

/** The Authorization header an agent client would send, for tests that speak raw HTTP as an attacker. */
export function agentHeader(token: string): string {
  const credentials = parseToken(token);
  return authorization({
    kind: 'agent',
    loc: bytesToHex(credentials.loc),
    generation: credentials.generation,
    authKey: serverAuthKey(credentials.agentKey),
  });
}

/** One raw JSON call; returns status and body. */
export async function call(url: string, path: string, body?: unknown, auth?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Every byte the store holds: the SQLite files, or every row of every table. */
export async function databaseBytes(kind: StoreKind, server: { dir: string; database: string }): Promise<Buffer> {
  if (kind === 'sqlite') {
    return Buffer.concat(['', '-wal'].map((suffix) => {
      try {
        return readFileSync(`${server.database}${suffix}`);
      } catch {
        return Buffer.alloc(0);
      }
    }));
  }
  const client = new pg.Client({ connectionString: server.database });
  await client.connect();
  try {
    const parts: Buffer[] = [];
    for (const table of ['meta', 'entries', 'audit', 'head', 'lease']) {
      const { rows } = await client.query(`SELECT * FROM agent_vault_${table}`);
      for (const row of rows) for (const value of Object.values(row)) parts.push(Buffer.isBuffer(value) ? value : Buffer.from(String(value)));
    }
    return Buffer.concat(parts);
  } finally {
    await client.end();
  }
}
