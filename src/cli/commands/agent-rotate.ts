import type { Command } from '../_command.ts';
import { issueToken, TOKEN_FILE_OPTION } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentRotate: Command = {
  name: 'agent rotate',
  summary: 'Issue a new token for an agent; the old one stops working',
  usage: 'agent rotate ID [--ttl DURATION] [--token-file PATH]',
  description:
    'Issue a new token for the agent ID with the same patterns; its previous token stops working at\n' +
    'once. The new token lives --ttl, default as long as the previous one was given. Printed once on\n' +
    'stdout (or written to --token-file), like agent create.',
  args: ['ID'],
  options: {
    ttl: { type: 'string', value: 'DURATION', description: 'How long the new token lives. Default: the previous lifetime.' },
    'token-file': TOKEN_FILE_OPTION,
  },
  examples: ['agent-vault agent rotate research-bot', 'agent-vault agent rotate ci --ttl 1h --token-file ./ci.token'],
  async run({ args, options, output, dir, keyFile }) {
    const id = args[0] as string;
    const ttl = options.ttl as string | undefined;
    await withOwnerVault({ dir, keyFile }, (vault) =>
      issueToken(output, options['token-file'] as string | undefined, () => vault.rotateAgent(id, ttl === undefined ? {} : { ttl })));
  },
};
