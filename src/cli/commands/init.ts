import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { wipe } from '../../crypto.ts';
import { isVaultError, VaultExistsError } from '../../errors.ts';
import { createVault } from '../../vault.ts';
import type { Command } from '../_command.ts';
import { newPassphrase, PASSPHRASE_FILE_ENV } from '../_passphrase.ts';
import { locateNewVault } from '../_unlock.ts';

export const init: Command = {
  name: 'init',
  summary: 'Create a vault (passphrase, or --key-file for CI)',
  usage: 'init [--key-file PATH] [--dir PATH | --server URL]',
  description:
    'Create a new vault in --dir, else AGENT_VAULT_DIR, else .agent-vault/ in the working directory.\n' +
    `Its root key is locked with a passphrase, asked twice on the terminal (or read from the file named by\n` +
    `${PASSPHRASE_FILE_ENV}), hardened with Argon2id calibrated to about half a second. With --key-file PATH\n` +
    'it is locked with a random key file instead (created with mode 0600 if missing), for CI and tests;\n' +
    'every later command then needs the same --key-file. A .gitignore in the vault directory keeps it out\n' +
    'of git: a token and a copy of the directory together open everything the token was granted. With\n' +
    '--server URL the vault is created on an `agent-vault serve` server (the first owner to create one\n' +
    'claims that server).',
  args: [],
  options: {},
  examples: [
    'agent-vault init', 'agent-vault init --key-file ~/.config/agent-vault/ci.key --dir ./vault',
    'agent-vault init --server https://vault.internal:8443',
  ],
  async run({ dir: dirOption, keyFile, server, output }) {
    const { dir } = server !== undefined ? { dir: server } : locateNewVault({ dir: dirOption });
    const unlock = keyFile !== undefined ? { keyFile: resolve(keyFile) } : { passphrase: await newPassphrase('created') };
    let vault;
    try {
      vault = await createVault(server !== undefined ? { server, ...unlock } : { dir, ...unlock });
    } catch (error) {
      if (isVaultError(error) && error.code === 'VAULT_EXISTS') {
        throw new VaultExistsError(`A vault already exists in ${dir}; nothing was changed. See it with \`agent-vault status\`, or choose another --dir.`);
      }
      throw error;
    } finally {
      if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
    }
    const id = vault.id;
    await vault.close();
    // A server vault has no directory here to keep out of git.
    if (server === undefined) await writeGitignore(dir);
    const method = unlock.keyFile !== undefined ? 'key-file' : 'passphrase';
    output.result({ dir, id, unlock: method, ...(unlock.keyFile !== undefined ? { keyFile: unlock.keyFile } : {}) });
    output.note(`Created a vault in ${dir} (unlocked with ${method === 'key-file' ? `the key file ${unlock.keyFile}` : 'your passphrase'}).`);
    if (unlock.keyFile !== undefined) {
      output.note('Keep the key file out of version control and backups others can read: it opens the vault.');
    }
    output.note(
      'Next: agent-vault set NAME (the value from a hidden prompt or stdin), then\n' +
        "      agent-vault agent create ID --allow 'PATTERN' --ttl 30d",
    );
  },
};

/**
 * Keep the vault out of commits: a pushed vault directory plus one leaked token is every secret
 * that token was granted, offline. `wx`: a .gitignore the owner already has is theirs.
 */
async function writeGitignore(dir: string): Promise<void> {
  const text = '# Written by `agent-vault init`: the vault and its audit log stay out of git.\n*\n';
  await writeFile(join(dir, '.gitignore'), text, { flag: 'wx', mode: 0o600 }).catch(() => undefined);
}
