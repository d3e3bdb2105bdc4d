/**
 * Server mode: what leaves this folder. `startServer` runs the HTTP API (`agent-vault serve`)
 * over a SQLite file or a PostgreSQL database; the client side (`openVault({ server })`) is
 * reached through the core's lazy import of _remote-open.ts and exports nothing here.
 *
 * Private to the folder: _wire.ts (signed messages, JSON, auth header), _policy.ts (the rules),
 * _http.ts (routes and limits), _store.ts (the store contract), _sqlite.ts and _postgres.ts
 * (the stores), _client.ts, _trust.ts, _remote-backend.ts, _remote-audit.ts and
 * _remote-open.ts (the client).
 */
import type { AddressInfo } from 'node:net';
import { createHttpServer, type ServerLimits } from './_http.ts';
import { VaultService } from './_policy.ts';
import type { ServerStore, StoreDurability } from './_store.ts';

export type { StoreDurability } from './_store.ts';
import { UsageError } from '../errors.ts';

export type { ServerLimits } from './_http.ts';

export interface StartServerOptions extends ServerLimits {
  /** A SQLite file path, or a `postgres://` URL. */
  database: string;
  /** See StoreDurability: `'write'` (default) survives a crash of the server, `'fsync'` a power loss too. */
  durability?: StoreDurability;
  /** The address to listen on. Default `127.0.0.1`: put a TLS reverse proxy in front to serve others. */
  host?: string;
  /** The port. Default 8420; 0 picks a free one. */
  port?: number;
  /** Serve HTTPS directly with this PEM certificate chain and key. Default: plain HTTP (behind a TLS proxy). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The clock, for tests of expiry. Default `Date.now`. */
  now?: () => number;
}

export interface RunningServer {
  /** `http://host:port`, for AGENT_VAULT_SERVER. */
  url: string;
  /** Stop accepting, finish open requests, close the database. */
  close(): Promise<void>;
}

/** Open the store a `database` string names. */
export async function openStore(database: string, durability: StoreDurability = 'write'): Promise<ServerStore> {
  if (durability !== 'write' && durability !== 'fsync') throw new UsageError('Durability is "write" or "fsync".');
  if (/^postgres(ql)?:\/\//.test(database)) {
    const { postgresStore } = await import('./_postgres.ts');
    return postgresStore({ url: database, durability });
  }
  if (database.includes('://')) throw new UsageError('The database is a SQLite file path or a postgres:// URL.');
  const { sqliteStore } = await import('./_sqlite.ts');
  return sqliteStore({ path: database, durability });
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { initCrypto } = await import('../crypto.ts');
  await initCrypto();
  const store = await openStore(options.database, options.durability);
  const server = createHttpServer(new VaultService(store, options.now), options, options.now, options.tls);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8420, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await store.close();
      })();
      return closing;
    },
  };
}
