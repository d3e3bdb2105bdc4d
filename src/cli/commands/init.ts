import { resolve } from 'node:path';
import { wipe } from '../../crypto.ts';
import { createVault } from '../../vault.ts';
import type { Command } from '../_command.ts';
import { locateNewVault, newPassphrase, PASSPHRASE_FILE_ENV } from '../_unlock.ts';

export const init: Command = {
  name: 'init',
  summary: 'Create a vault (passphrase, or --key-file for CI)',
  usage: 'init [--key-file PATH] [--dir PATH]',
  description:
    'Create a new vault in --dir, else AGENT_VAULT_DIR, else .agent-vault/ in the working directory.\n' +
    `Its root key is locked with a passphrase, asked twice on the terminal (or read from the file named by\n` +
    `${PASSPHRASE_FILE_ENV}), hardened with Argon2id calibrated to about half a second. With --key-file PATH\n` +
    'it is locked with a random key file instead (created with mode 0600 if missing), for CI and tests;\n' +
    'every later command then needs the same --key-file.',
  args: [],
  options: {},
  examples: ['agent-vault init', 'agent-vault init --key-file ~/.config/agent-vault/ci.key --dir ./vault'],
  async run({ dir: dirOption, keyFile, output }) {
    const { dir } = locateNewVault({ dir: dirOption });
    const unlock = keyFile !== undefined ? { keyFile: resolve(keyFile) } : { passphrase: await newPassphrase() };
    let vault;
    try {
      vault = await createVault({ dir, ...unlock });
    } finally {
      if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
    }
    const id = vault.id;
    await vault.close();
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
