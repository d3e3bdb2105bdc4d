import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { initCrypto, wipe } from '../../crypto.ts';
import { UsageError } from '../../errors.ts';
import { backupHeader } from '../../_backup.ts';
import { writeNewPrivateFile } from '../../_fs.ts';
import { restoreVault } from '../../backup.ts';
import type { Command } from '../_command.ts';
import { locateNewVault, ownerUnlock, refuseServer, withOwnerVault } from '../_unlock.ts';

export const backup: Command = {
  name: 'backup',
  summary: 'Write an encrypted backup of the whole vault to FILE',
  usage: 'backup FILE',
  description:
    'Write every record of the vault (secrets, agents, grants, header) to the new file FILE (mode\n' +
    '0600), sealed again as a whole: it reveals nothing, not even how many secrets there are, and\n' +
    'only this vault\'s passphrase (or key file) as it is now opens it. `agent-vault restore FILE`\n' +
    'reads it back. The audit log is not included; keep it (and its last `audit verify` record) apart.',
  args: ['FILE'],
  options: {},
  examples: ['agent-vault backup ~/backups/agent-vault-$(date +%F).avb'],
  async run({ args, output, dir, keyFile, server }) {
    refuseServer(server, 'backup');
    const path = resolve(args[0] as string);
    const bytes = await writeNewPrivateFile(path, async () => {
      const made = await withOwnerVault({ dir, keyFile }, (vault) => vault.backup());
      // A backup is base64url text: nothing lost as a string, and nothing in it is plaintext.
      return { content: new TextDecoder().decode(made), result: made };
    }, (code) => new UsageError(code === 'EEXIST'
      ? `${path} already exists; backups are never overwritten. Choose a new file name.`
      : `Cannot create ${path} (${code}). Check that its directory exists and is writable.`));
    output.result({ file: path, bytes: bytes.length });
    output.note(`Wrote an encrypted backup to ${path} (${bytes.length} bytes). Restore it with: agent-vault restore ${path} --dir NEW_DIR`);
  },
};

export const restore: Command = {
  name: 'restore',
  summary: 'Restore a backup into an empty vault directory',
  usage: 'restore FILE [--dir PATH] [--allow-rollback]',
  description:
    'Restore the backup FILE (made by `agent-vault backup`) into --dir, else AGENT_VAULT_DIR, else\n' +
    '.agent-vault/ here, which must hold no vault yet. It is unlocked with the passphrase (or key file)\n' +
    'the vault had when the backup was made. Every record is verified (owner signatures, the signed\n' +
    'state) before anything is written; a modified, truncated or pieced-together backup is refused.\n' +
    'A backup older than the newest state of this vault you have seen is refused too, since it would\n' +
    'bring back agents revoked and secrets deleted since; --allow-rollback restores it anyway (then\n' +
    'revoke or rotate those agents again). Agent tokens work again as they were when the backup was made.',
  args: ['FILE'],
  options: {
    'allow-rollback': { type: 'boolean', description: 'Restore a backup older than the newest state of this vault seen here.' },
  },
  examples: ['agent-vault restore ~/backups/agent-vault-2026-03-01.avb --dir ~/.agent-vault'],
  async run({ args, options, output, dir: dirOption, keyFile, server }) {
    refuseServer(server, 'restore');
    const path = resolve(args[0] as string);
    const bytes = await readFile(path).catch((cause) => {
      throw new UsageError(`Cannot read ${path} (${(cause as NodeJS.ErrnoException).code}). Check the path.`);
    });
    const { dir } = locateNewVault({ dir: dirOption });
    await initCrypto();
    const { prompted: _typed, ...unlock } = await ownerUnlock({ keyFile }, backupHeader(bytes).header, `The backup ${path}`);
    let id: string;
    try {
      const vault = await restoreVault(bytes, { dir, ...unlock, allowRollback: options['allow-rollback'] === true });
      id = vault.id;
      await vault.close();
    } finally {
      if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
    }
    output.result({ dir, id, file: path });
    output.note(`Restored vault ${id} into ${dir}.`);
    if (options['allow-rollback'] === true) {
      output.note('If the backup was older than the vault, what was revoked or deleted since is back: check `agent-vault agent list --all` and `agent-vault list`.');
    }
  },
};
