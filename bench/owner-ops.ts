/** Owner operations on a vault of 10,000 secrets (file backend), and unlocking. */
import { join } from 'node:path';
import { createVault, openVault } from '../src/index.ts';
import { copyToDirectory, memoryVault, tempDir } from './_fixtures.ts';

export interface OwnerOpsResult {
  secrets: number;
  /** Milliseconds: median of the runs. */
  unlockMs: number;
  unlockParams: { opslimit: number; memlimit: number };
  setMs: number;
  createAgentMs: number;
  listMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

export async function ownerOps(secrets = 10_000): Promise<OwnerOpsResult> {
  // Unlock at the parameters createVault calibrates on this machine.
  const unlockDir = join(tempDir('unlock'), 'vault');
  await createVault({ dir: unlockDir, passphrase: 'a long passphrase', audit: false });
  const unlockMs = await timed(() => openVault({ dir: unlockDir, passphrase: 'a long passphrase', audit: false }), 3);
  const { unlock } = await readHeader(unlockDir);
  const unlockParams = { opslimit: unlock.opslimit, memlimit: unlock.memlimit };

  const { backend } = await memoryVault(secrets);
  const root = tempDir('owner-ops');
  const dir = join(root, 'vault');
  await copyToDirectory(backend, dir);
  // The memory fixture's owner unlocks with a passphrase; re-open it as owner from disk.
  const owner = await openVault({ dir, passphrase: 'bench', audit: false });
  let n = 0;
  const setMs = await timed(() => owner.set(`new-secret-${n++}`, 'value'), 10);
  // Patterns matching 11 of the 10,000 secrets: the agent's grants are written into those records.
  const createAgentMs = await timed(() => owner.createAgent(`agent-${n++}`, { allow: ['secret-42*'] }), 3);
  const listMs = await timed(() => owner.list(), 3);
  return { secrets, unlockMs, unlockParams, setMs, createAgentMs, listMs };
}

async function readHeader(dir: string) {
  const { fileBackend } = await import('../src/backends/file.ts');
  const bytes = await fileBackend({ dir }).get('header');
  return JSON.parse(new TextDecoder().decode(bytes)) as { unlock: { opslimit: number; memlimit: number } };
}
