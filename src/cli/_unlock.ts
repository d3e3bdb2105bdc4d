/**
 * Finding the vault and unlocking it as its owner. The passphrase comes from
 * AGENT_VAULT_PASSPHRASE_FILE, else a hidden prompt on the terminal; `--key-file` replaces it
 * for vaults made with a key file (CI, tests).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeHeader, HEADER_KEY, type Header } from '../_header.ts';
import { defaultVaultDir, fileBackend } from '../backends/file.ts';
import { initCrypto, wipe } from '../crypto.ts';
import { AccessDeniedError, UsageError, VaultNotFoundError } from '../errors.ts';
import type { OwnerUnlock } from '../options.ts';
import { openVault, type Vault } from '../vault.ts';
import type { Context } from './_command.ts';
import { NO_TERMINAL, PASSPHRASE_FILE_ENV, PASSPHRASE_TRIES, readPassphraseFile } from './_passphrase.ts';
import { promptHidden } from './_prompt.ts';

export { PASSPHRASE_FILE_ENV } from './_passphrase.ts';

export interface VaultLocation {
  dir: string;
  /** How the directory was chosen, for `status`. */
  source: '--dir' | 'AGENT_VAULT_DIR' | 'found from the working directory' | 'default in the home directory' | 'new in the working directory';
}

/** The vault an existing-vault command works on: --dir, else the library's default. */
export function locateVault(context: Pick<Context, 'dir'>): VaultLocation {
  if (context.dir !== undefined) return { dir: resolve(context.dir), source: '--dir' };
  if (process.env.AGENT_VAULT_DIR) return { dir: resolve(process.env.AGENT_VAULT_DIR), source: 'AGENT_VAULT_DIR' };
  const dir = defaultVaultDir();
  return { dir, source: dir === join(homedir(), '.agent-vault') ? 'default in the home directory' : 'found from the working directory' };
}

/** Where `init` creates a vault: --dir, else AGENT_VAULT_DIR, else `.agent-vault/` right here. */
export function locateNewVault(context: Pick<Context, 'dir'>): VaultLocation {
  if (context.dir !== undefined) return { dir: resolve(context.dir), source: '--dir' };
  if (process.env.AGENT_VAULT_DIR) return { dir: resolve(process.env.AGENT_VAULT_DIR), source: 'AGENT_VAULT_DIR' };
  return { dir: resolve('.agent-vault'), source: 'new in the working directory' };
}

/**
 * The vault header, read without unlocking anything, so we can say "no vault here" or "this
 * vault wants a key file" before asking for a passphrase.
 */
export async function readHeader(dir: string): Promise<Header | undefined> {
  if (!existsSync(dir)) return undefined;
  const backend = fileBackend({ dir });
  try {
    const bytes = await backend.get(HEADER_KEY);
    if (!bytes) return undefined;
    await initCrypto();
    return decodeHeader(bytes);
  } finally {
    await backend.close?.();
  }
}

export function noVault(dir: string): VaultNotFoundError {
  return new VaultNotFoundError(
    `No vault in ${dir}. Create one with \`agent-vault init\`, or point --dir or AGENT_VAULT_DIR at the vault directory.`,
  );
}

/**
 * How the owner unlocks the vault `header` describes (`where` names it in messages): the key file
 * given, the passphrase file, or a prompt; `prompted` when it was typed.
 */
export async function ownerUnlock(
  context: Pick<Context, 'keyFile'>, header: Header, where: string, attempt = 1,
): Promise<OwnerUnlock & { prompted: boolean }> {
  if (header.unlock.method === 'key-file') {
    if (context.keyFile === undefined) {
      throw new UsageError(`${where} is unlocked with a key file: pass --key-file PATH.`);
    }
    return { keyFile: resolve(context.keyFile), prompted: false };
  }
  if (context.keyFile !== undefined) {
    throw new UsageError(
      `${where} is unlocked with a passphrase, not a key file: drop --key-file ` +
        `(the passphrase comes from ${PASSPHRASE_FILE_ENV} or a prompt).`,
    );
  }
  const file = process.env[PASSPHRASE_FILE_ENV];
  if (file) return { passphrase: await readPassphraseFile(file), prompted: false };
  const question = attempt === 1 ? 'Vault passphrase:' : `Wrong passphrase, try again (${attempt} of ${PASSPHRASE_TRIES}). Vault passphrase:`;
  return { passphrase: await promptHidden(question, NO_TERMINAL), prompted: true };
}

/** How the owner unlocks the vault in `dir`, checked against its header, asked once (exec). */
export async function ownerUnlockAt(context: Pick<Context, 'keyFile'>, dir: string): Promise<OwnerUnlock> {
  const header = await readHeader(dir);
  if (!header) throw noVault(dir);
  const { prompted: _, ...unlock } = await ownerUnlock(context, header, `The vault in ${dir}`);
  return unlock;
}

/** Open the vault as its owner, asking again after a mistyped passphrase; the caller closes it. */
export async function openOwner(context: Pick<Context, 'dir' | 'keyFile'> & { server?: string }): Promise<Vault> {
  if (context.server !== undefined) return openServerOwner(context.server, context);
  const { dir } = locateVault(context);
  const header = await readHeader(dir);
  if (!header) throw noVault(dir);
  for (let attempt = 1; ; attempt++) {
    const { prompted, ...unlock } = await ownerUnlock(context, header, `The vault in ${dir}`, attempt);
    try {
      return await openVault({ dir, ...unlock });
    } catch (error) {
      const typo = error instanceof AccessDeniedError && error.reason === 'wrong-unlock';
      if (!(typo && prompted && attempt < PASSPHRASE_TRIES)) throw error;
    } finally {
      if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
    }
  }
}

/**
 * A server vault's owner: the key file when given, else the passphrase (the server checks which
 * one the vault wants, and a wrong one is refused as for a directory).
 */
async function openServerOwner(server: string, context: Pick<Context, 'keyFile'>): Promise<Vault> {
  const file = process.env[PASSPHRASE_FILE_ENV];
  const unlock: OwnerUnlock = context.keyFile !== undefined
    ? { keyFile: resolve(context.keyFile) }
    : { passphrase: file ? await readPassphraseFile(file) : await promptHidden('Vault passphrase:', NO_TERMINAL) };
  try {
    return await openVault({ server, ...unlock });
  } finally {
    if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
  }
}

/** Run `fn` with the owner's vault, closing it (and wiping its keys) afterwards. */
export async function withOwnerVault<T>(context: Pick<Context, 'dir' | 'keyFile'> & { server?: string }, fn: (vault: Vault) => Promise<T>): Promise<T> {
  const vault = await openOwner(context);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

/**
 * Refuse `--server` for a command that works on a vault directory only (passwd, backup, restore):
 * quietly using a local directory instead would change or copy another vault than the one named.
 */
export function refuseServer(server: string | undefined, command: string): void {
  if (server === undefined) return;
  throw new UsageError(
    `\`agent-vault ${command}\` works on a vault directory, not a server vault yet; nothing was changed. ` +
      'Drop --server (and unset AGENT_VAULT_SERVER) to use it on a directory.',
  );
}
