/** Resolution: vault.use() latency and rate on one core, memory vs file backend, ± audit. */
import { join } from 'node:path';
import { openVault } from '../src/index.ts';
import { compare, type Stats } from './_measure.ts';
import { copyToDirectory, fileAgent, memoryVault, tempDir } from './_fixtures.ts';

export async function resolution(): Promise<Record<string, Stats>> {
  const { backend, token } = await memoryVault(10);
  const dir = join(tempDir('resolution'), 'vault');
  await copyToDirectory(backend, dir);
  const memoryAgent = await openVault({ backend, token, audit: false });
  const fileNoAudit = await fileAgent(dir, token, false);
  const fileAudit = await fileAgent(dir, token, true);
  const use = (vault: typeof memoryAgent) => () => vault.use('openai-api-key', (secret) => secret.length);
  // The file backend trusts its cache only for files older than a second; let them age.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  return compare(
    {
      'memory, no audit': use(memoryAgent),
      'file, no audit': use(fileNoAudit),
      'file + audit': use(fileAudit),
    },
    { rounds: 6, perRound: 1_000, warmup: 200 },
  );
}
