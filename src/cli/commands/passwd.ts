import { resolve } from 'node:path';
import { wipe } from '../../crypto.ts';
import type { Command } from '../_command.ts';
import { newPassphrase, PASSPHRASE_FILE_ENV } from '../_passphrase.ts';
import { refuseServer, withOwnerVault } from '../_unlock.ts';

export const passwd: Command = {
  name: 'passwd',
  summary: 'Change the vault passphrase (tokens and secrets stay valid)',
  usage: 'passwd [--new-key-file PATH]',
  description:
    'Lock the vault under a new passphrase: the current one is asked once (or read from\n' +
    `${PASSPHRASE_FILE_ENV}), then the new one twice (or read from the file named by\n` +
    `AGENT_VAULT_NEW_PASSPHRASE_FILE). Only the sealed root key in the vault header changes: every\n` +
    'agent token, grant and secret stays valid, and the old passphrase no longer opens the vault.\n' +
    'With --new-key-file PATH the vault is locked with a (new or existing) key file instead.',
  args: [],
  options: {
    'new-key-file': { type: 'string', value: 'PATH', description: 'Lock the vault with this key file instead of a passphrase.' },
  },
  examples: ['agent-vault passwd', 'agent-vault passwd --key-file ci.key --new-key-file ci-2026.key'],
  async run({ options, output, dir, keyFile, server }) {
    refuseServer(server, 'passwd');
    await withOwnerVault({ dir, keyFile }, async (vault) => {
      const newKeyFile = options['new-key-file'] as string | undefined;
      const next = newKeyFile !== undefined
        ? { keyFile: resolve(newKeyFile) }
        : { passphrase: await newPassphrase('changed', 'AGENT_VAULT_NEW_PASSPHRASE_FILE') };
      try {
        await vault.changeUnlock(next);
      } finally {
        if (next.passphrase instanceof Uint8Array) wipe(next.passphrase);
      }
      output.result({ id: vault.id, unlock: next.keyFile !== undefined ? 'key-file' : 'passphrase' });
      output.note(next.keyFile !== undefined
        ? `The vault is now unlocked with the key file ${next.keyFile}; the old passphrase or key file no longer opens it.`
        : 'Passphrase changed; the old one no longer opens the vault. Agent tokens are unchanged.');
    });
  },
};
