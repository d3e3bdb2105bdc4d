/**
 * The owner's memory of a server vault across runs: the newest revision it has verified, one
 * small file per vault in the owner's config directory (AGENT_VAULT_STATE_DIR, else
 * $XDG_CONFIG_HOME/agent-vault/server-state, else ~/.config/agent-vault/server-state). A server
 * restored from an old backup, or one replaying old answers, then fails the owner's very first
 * read of the next run. Written atomically (temp file, fsync, rename); never moves backwards.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { syncDirectory } from '../_fs.ts';

export function stateDir(): string {
  const env = process.env;
  if (env.AGENT_VAULT_STATE_DIR) return env.AGENT_VAULT_STATE_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'agent-vault', 'server-state');
}

export interface StateMemory {
  /** The newest revision verified in an earlier run (0 if none). */
  floor: number;
  remember(rev: number): Promise<void>;
}

export async function stateMemory(vaultHex: string, dirOption?: string): Promise<StateMemory> {
  const dir = dirOption ?? stateDir();
  const path = join(dir, `${vaultHex}.json`);
  let floor = 0;
  try {
    const json = JSON.parse(await readFile(path, 'utf8')) as { rev?: unknown };
    if (Number.isSafeInteger(json.rev) && (json.rev as number) > 0) floor = json.rev as number;
  } catch {
    // no memory yet (first run on this machine), or unreadable: start from nothing
  }
  let kept = floor;
  return {
    floor,
    async remember(rev) {
      if (rev <= kept) return;
      kept = rev;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temp = `${path}.${process.pid}.tmp`;
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ rev })}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await syncDirectory(dir);
    },
  };
}
