import { resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';

const DEFAULT_PORT = 8420;

export const serve: Command = {
  name: 'serve',
  summary: 'Run a vault server for a fleet (SQLite file, or PostgreSQL)',
  usage: 'serve [--database PATH|URL] [--host HOST] [--port N] [--tls-cert PATH --tls-key PATH] [limits]',
  description:
    'Serve one vault over HTTP to agents and owners on other hosts. The server stores only what owners\n' +
    'sealed and signed, checks every agent request (token verifier, expiry, revocation, grant) and writes\n' +
    'its audit record before it releases anything. It holds no key that opens a record and sees no name.\n' +
    '\n' +
    'Storage: --database PATH is a SQLite file (default AGENT_VAULT_DATABASE, else ./agent-vault.db);\n' +
    'a postgres://user@host/db URL uses PostgreSQL (npm install pg), and several serve processes over one\n' +
    'database behave as one vault. Back up the SQLite file with `sqlite3 FILE ".backup COPY"` (or stop the\n' +
    'server and copy it), PostgreSQL with pg_dump; owners remember the newest state, so an old backup\n' +
    'restored is reported to them as a rollback.\n' +
    '\n' +
    'Listens on 127.0.0.1:8420 by default. Serve others over TLS: --tls-cert/--tls-key, or a reverse proxy\n' +
    '(nginx, Caddy) terminating TLS in front of 127.0.0.1. Then create the vault and point clients at it:\n' +
    '  agent-vault init --server URL           (the first owner to create a vault claims the server)\n' +
    '  AGENT_VAULT_SERVER=URL agent-vault set NAME / agent create ID ... / audit verify\n' +
    '  AGENT_VAULT_SERVER=URL AGENT_VAULT_TOKEN_FILE=... your-agent\n' +
    'Stops on SIGINT or SIGTERM after open requests finish. GET /v1/health answers without auth.',
  args: [],
  options: {
    database: { type: 'string', value: 'PATH|URL', description: 'SQLite file or postgres:// URL. Default AGENT_VAULT_DATABASE, else ./agent-vault.db.' },
    host: { type: 'string', value: 'HOST', description: 'Address to listen on. Default 127.0.0.1.' },
    port: { type: 'string', value: 'N', description: `Port. Default ${DEFAULT_PORT}; 0 picks a free one.` },
    'tls-cert': { type: 'string', value: 'PATH', description: 'PEM certificate chain: serve HTTPS directly.' },
    'tls-key': { type: 'string', value: 'PATH', description: 'PEM private key for --tls-cert.' },
    durability: {
      type: 'string', value: 'write|fsync',
      description: 'write (default): an acknowledged request survives a crash of serve; fsync: a power loss too, slower.',
    },
    'max-body': { type: 'string', value: 'BYTES', description: 'Largest request body. Default 1048576.' },
    rate: { type: 'string', value: 'N', description: 'Requests per second per agent (token bucket). Default 2000.' },
    burst: { type: 'string', value: 'N', description: 'Burst size per agent. Default twice --rate.' },
    'max-connections': { type: 'string', value: 'N', description: 'Open connections at once. Default 1024.' },
  },
  examples: [
    'agent-vault serve --database /var/lib/agent-vault/vault.db',
    'agent-vault serve --database postgres://vault@db.internal/vault --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem',
  ],
  async run({ options, output }) {
    const { startServer } = await import('../../server/index.ts');
    const database = (options.database as string | undefined) ?? process.env.AGENT_VAULT_DATABASE ?? 'agent-vault.db';
    const cert = options['tls-cert'] as string | undefined;
    const key = options['tls-key'] as string | undefined;
    if ((cert === undefined) !== (key === undefined)) throw new UsageError('HTTPS needs both --tls-cert and --tls-key.');
    let tls: { cert: Buffer; key: Buffer } | undefined;
    if (cert !== undefined && key !== undefined) {
      const { readFile } = await import('node:fs/promises');
      tls = { cert: await readFile(cert), key: await readFile(key) };
    }
    const server = await startServer({
      database: database.includes('://') ? database : resolve(database),
      host: options.host as string | undefined,
      port: number(options.port, 'port', DEFAULT_PORT),
      tls,
      durability: (options.durability as 'write' | 'fsync' | undefined) ?? (process.env.AGENT_VAULT_SERVER_DURABILITY as 'write' | 'fsync' | undefined),
      maxBodyBytes: number(options['max-body'], 'max-body'),
      ratePerSecond: number(options.rate, 'rate'),
      burst: number(options.burst, 'burst'),
      maxConnections: number(options['max-connections'], 'max-connections'),
    });
    output.result({ url: server.url, database: database.includes('://') ? 'postgres' : resolve(database) }, `Serving the vault at ${server.url}`);
    output.note(`Clients: AGENT_VAULT_SERVER=${server.url}. Stop with Ctrl-C.`);
    await new Promise<void>((done) => {
      const stop = () => void server.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};

function number(value: unknown, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new UsageError(`--${name} takes a whole number.`);
  }
  return parsed;
}
