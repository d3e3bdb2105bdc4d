/**
 * For the examples' local mode: a throw-away vault in a temporary directory holding one made-up
 * provider key, an agent allowed to read it, and a local stand-in provider that expects the key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVault, openVault } from 'agent-vault';
import { startLocalProvider } from './_local-provider.ts';

export async function throwawayVault(secret: string, keyPrefix: string) {
  const dir = await mkdtemp(join(tmpdir(), 'agent-vault-example-'));
  const apiKey = `${keyPrefix}${randomBytes(16).toString('hex')}`;
  // The owner's side, once: `agent-vault init`, `set`, `agent create` do the same from the CLI.
  const owner = await createVault({ dir, passphrase: 'example only', passphraseParams: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
  await owner.set(secret, apiKey);
  const { token } = await owner.createAgent('example-agent', { allow: [secret], ttl: '1h' });
  const provider = await startLocalProvider({ apiKey });
  const agentVault = await openVault({ dir, token });
  console.log(`local mode: a throw-away vault in ${dir} and a stand-in provider at ${provider.origin}`);
  return {
    owner,
    agentVault,
    provider,
    async cleanUp() {
      await owner.close();
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
