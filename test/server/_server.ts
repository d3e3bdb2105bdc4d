/** A `serve` in this test process over a fresh SQLite file, and an owner vault created on it. */
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createVault, type Vault } from '../../src/index.ts';
import { type RunningServer, startServer, type StartServerOptions } from '../../src/server/index.ts';
import { tempDir } from '../_fixtures/index.ts';

const running: RunningServer[] = [];
afterAll(async () => {
  for (const server of running.splice(0)) await server.close();
});

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
