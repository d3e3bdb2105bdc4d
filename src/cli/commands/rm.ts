import { canonicalName } from '../../names.ts';
import type { Command } from '../_command.ts';
import { withNameHint } from '../_suggest.ts';
import { withOwnerVault } from '../_unlock.ts';

export const rm: Command = {
  name: 'rm',
  summary: 'Delete a secret and every grant of it',
  usage: 'rm NAME',
  description:
    'Delete the secret NAME: every version and every agent\'s grant. Agents that resolve it afterwards\n' +
    'get SECRET_NOT_FOUND. There is no undo.',
  args: ['NAME'],
  options: {},
  examples: ['agent-vault rm old-api-key'],
  async run({ args, output, dir, keyFile, server }) {
    const name = canonicalName(args[0]);
    await withOwnerVault({ dir, keyFile, server }, (vault) => withNameHint(vault, name, () => vault.delete(name)));
    output.result({ name, deleted: true });
    output.note(`Deleted ${JSON.stringify(name)}.`);
  },
};
