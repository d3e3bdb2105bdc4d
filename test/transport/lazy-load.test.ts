/**
 * The hardened transport (node:http, node:https) is loaded on first use only, so that importing
 * an adapter works on runtimes without those modules (adapters/transport/_choice.ts). Run on the
 * built package in a child process where those modules cannot be imported.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FAST_KDF } from '../_fixtures/index.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function withoutSockets(script: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', join(import.meta.dirname, '_block-sockets.ts'), '--input-type=module', '-e', script], { cwd: root });
  return stdout.trim();
}

describe('the hardened transport loads lazily', () => {
  it('every adapter subpath imports without node:http, node:https, node:net or node:tls', async () => {
    const out = await withoutSockets(`
      const names = [];
      for (const subpath of ['openai', 'anthropic', 'fetch']) names.push(...Object.keys(await import('agent-vault/' + subpath)));
      console.log(names.sort().join(','));
    `);
    expect(out).toBe('Anthropic,AzureOpenAI,OpenAI,createVaultFetch,isPlaceholder,withVault,withVault');
  });

  it('and the block is real: the first hardened request needs node:http and fails without it', async () => {
    const out = await withoutSockets(`
      const { createVault, openVault } = await import('agent-vault');
      const { memoryBackend } = await import('agent-vault/backends/memory');
      const { createVaultFetch } = await import('agent-vault/fetch');
      const backend = memoryBackend();
      const owner = await createVault({ backend, passphrase: 'x', passphraseParams: ${JSON.stringify(FAST_KDF)} });
      await owner.set('api-key', 'sk-test-0123456789abcdef0123456789');
      const { token } = await owner.createAgent('bot', { allow: ['*'], ttl: '1h' });
      const vault = await openVault({ backend, token });
      const fetch = createVaultFetch(vault, { secret: 'api-key', origin: 'http://127.0.0.1:9', transport: 'hardened' });
      const error = await fetch('http://127.0.0.1:9/', { headers: { authorization: 'Bearer ' + fetch.placeholder } }).catch((e) => e);
      console.log(String(error?.message));
    `);
    expect(out).toMatch(/^blocked (node:)?https?$/);
  });
});
