/**
 * PostgreSQL for the server tests: `AGENT_VAULT_TEST_POSTGRES` names a server where we may
 * create databases (.ci/run starts one). Unset, the PostgreSQL tests skip with a message, except
 * under CI=true, where a missing database is a failure, not a skip.
 */
import pg from 'pg';

export const POSTGRES_URL = process.env.AGENT_VAULT_TEST_POSTGRES;

if (!POSTGRES_URL) {
  if (process.env.CI === 'true') throw new Error('CI=true but AGENT_VAULT_TEST_POSTGRES is unset: .ci/run should have started PostgreSQL.');
  console.warn('[server tests] AGENT_VAULT_TEST_POSTGRES is unset: the PostgreSQL tests are skipped. .ci/run starts one.');
}

/** A fresh, empty database on the test server; its URL. */
export async function freshDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const name = `av_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL!);
  url.pathname = `/${name}`;
  return url.href;
}
