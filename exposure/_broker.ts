/**
 * The broker of the `broker` mode: the real `agent-vault broker` command in a process of its
 * own, on the agent token and the vault, with one route (from a config file) to the provider's
 * base URL and the secret of the key length being measured, and one phantom key minted over its
 * admin socket for the agent process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { adminRequest } from '../src/broker/index.ts';

const ROUTE = 'exposure-openai';

export interface BrokerProcess {
  pid: number;
  /** The SDK's base URL through the broker. */
  baseURL: string;
  /** The phantom key the agent is given. */
  key: string;
  close(): void;
}

export async function startBrokerProcess(options: {
  /** The provider's base URL (origin and path) and the vault secret holding the key. */
  upstream: string; secret: string; tokenFile: string; vaultDir: string; dir: string; caPath?: string;
}): Promise<BrokerProcess> {
  const unique = Math.random().toString(36).slice(2);
  const admin = join(options.dir, `broker-admin-${unique}`, 'admin.sock');
  const config = join(options.dir, `broker-${unique}.json`);
  writeFileSync(config, JSON.stringify({
    routes: [{ name: ROUTE, upstream: options.upstream, secret: options.secret, header: 'authorization', scheme: 'Bearer' }],
    allowHttp: true,
  }));
  const child: ChildProcess = spawn(process.execPath, [
    join(import.meta.dirname, '..', 'src', 'cli', 'index.ts'), 'broker', '--listen', '127.0.0.1:0', '--admin', admin, '--config', config,
  ], {
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AGENT_VAULT_TOKEN_FILE: options.tokenFile, AGENT_VAULT_DIR: options.vaultDir,
      ...(options.caPath ? { NODE_EXTRA_CA_CERTS: options.caPath } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the broker exited (${code})`)));
  });
  const { key, baseUrl } = await adminRequest(admin, { op: 'create', name: 'exposure', route: ROUTE, ttl: '1h' });
  if (!key || !baseUrl?.startsWith(url)) throw new Error('the broker minted no key');
  return { pid: child.pid!, baseURL: baseUrl, key, close: () => void child.kill('SIGKILL') };
}
