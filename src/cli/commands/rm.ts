import type { Command } from '../_command.ts';
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
  async run({ args, output, dir, keyFile }) {
    const name = (args[0] as string).normalize('NFC');
    await withOwnerVault({ dir, keyFile }, (vault) => vault.delete(name));
    output.result({ name, deleted: true });
    output.note(`Deleted ${JSON.stringify(name)}.`);
  },
};
