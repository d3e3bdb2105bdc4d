/**
 * The owner's memory of each vault's newest state, kept outside the vault directory (in its
 * config directory), so an owner process refuses a vault rolled back to an older copy even
 * across runs. One small file per vault id: `agent-vault-state/1 <counter> <sha hex>\n`.
 *
 * What it does not stop: the same OS user can rewrite this file too. It raises the bar from
 * "copy an old directory back" to "know and rewrite the owner's config as well", and it never
 * trusts anything it reads beyond a lower bound. Node only; loaded on demand by the vault.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errnoCode } from './_fs.ts';
import { BackendError } from './errors.ts';
import type { StateFloor } from './_state.ts';
import { randomBytes } from './crypto.ts';
import { bytesToHex } from './_bytes.ts';

const LINE = /^agent-vault-state\/1 (\d{1,16}) ([0-9a-f]{64})\n?$/;

/** `AGENT_VAULT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/agent-vault`, else `~/.config/agent-vault`. */
export function defaultConfigDir(): string {
  const env = process.env;
  if (env.AGENT_VAULT_CONFIG_DIR) return env.AGENT_VAULT_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'agent-vault');
}

export interface LocalStates {
  read(vaultHex: string): Promise<StateFloor>;
  /** Record a newer state; never moves the stored floor backwards. */
  write(vaultHex: string, floor: StateFloor): Promise<void>;
}

export function localStates(dir: string): LocalStates {
  const pathOf = (vaultHex: string) => join(dir, 'state', vaultHex);
  const read = async (vaultHex: string): Promise<StateFloor> => {
    const text = await readFile(pathOf(vaultHex), 'utf8').catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw unusable(dir, error);
    });
    if (text === undefined) return { counter: 0 };
    const match = LINE.exec(text);
    // A damaged file gives no floor rather than a wrong one; the next write repairs it.
    return match ? { counter: Number(match[1]), hash: match[2] } : { counter: 0 };
  };
  return {
    read,
    async write(vaultHex, floor) {
      if (floor.hash === undefined) return;
      const stored = await read(vaultHex);
      if (stored.counter > floor.counter) return;
      try {
        await mkdir(join(dir, 'state'), { recursive: true, mode: 0o700 });
        const temp = `${pathOf(vaultHex)}.tmp-${process.pid}-${bytesToHex(randomBytes(6))}`;
        // No fsync: the file is only a lower bound, so losing its last write to a power cut weakens
        // the rollback check by one operation and never makes it wrong; the rename keeps it whole.
        const handle = await open(temp, 'wx', 0o600);
        try {
          await handle.writeFile(`agent-vault-state/1 ${floor.counter} ${floor.hash}\n`);
        } finally {
          await handle.close();
        }
        await rename(temp, pathOf(vaultHex));
      } catch (error) {
        throw unusable(dir, error);
      }
    },
  };
}

function unusable(dir: string, error: unknown): BackendError {
  return new BackendError(
    `Cannot use the owner's state directory ${dir} (${errnoCode(error) ?? 'error'}): it remembers each vault's ` +
      'newest state so a rolled-back vault is refused. Make it writable, or set AGENT_VAULT_CONFIG_DIR.',
    { cause: error },
  );
}
