/**
 * Peers on the same work: reading one API key at the moment of use. dotenvx decrypts its
 * encrypted .env (ECIES) on each read here, as a moment-of-use design would; process.env is the
 * floor (no protection at all).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenvx from '@dotenvx/dotenvx';
import { compare, type Stats } from './_measure.ts';
import { copyToDirectory, fileAgent, KEY, memoryVault, tempDir } from './_fixtures.ts';

export async function peers(): Promise<Record<string, Stats>> {
  const root = tempDir('peers');
  const envPath = join(root, '.env');
  writeFileSync(envPath, '');
  // The dotenvx CLI encrypts the file and writes the private key to .env.keys beside it.
  const cli = join(import.meta.dirname, '..', 'node_modules', '@dotenvx', 'dotenvx', 'src', 'cli', 'dotenvx.js');
  execFileSync(process.execPath, [cli, 'set', 'OPENAI_API_KEY', KEY, '-f', envPath], { cwd: root, stdio: 'ignore' });
  const privateKey = /DOTENV_PRIVATE_KEY="?([0-9a-f]+)/.exec(readFileSync(join(root, '.env.keys'), 'utf8'))![1]!;
  const env = { OPENAI_API_KEY: KEY };

  const { backend, token } = await memoryVault(10);
  const dir = join(root, 'vault');
  await copyToDirectory(backend, dir);
  const agent = await fileAgent(dir, token, true);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const dotenvxRead = () => {
    const value = dotenvx.parse(readFileSync(envPath, 'utf8'), { privateKey, processEnv: {} }).OPENAI_API_KEY;
    if (value !== KEY) throw new Error('dotenvx returned the wrong value');
    return value.length;
  };
  return compare(
    {
      'agent-vault (file + audit)': () => agent.use('openai-api-key', (secret) => secret.length),
      'dotenvx (decrypt per read)': dotenvxRead,
      'process.env (no protection)': () => env.OPENAI_API_KEY.length,
    },
    { rounds: 4, perRound: 50, warmup: 10 },
  );
}
