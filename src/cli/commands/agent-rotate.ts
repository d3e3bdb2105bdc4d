import type { Command } from '../_command.ts';
import { FORCE_OPTION, issueToken, TOKEN_FILE_OPTION, tokenDestination } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentRotate: Command = {
  name: 'agent rotate',
  summary: 'Issue a new token for an agent; the old one stops working',
  usage: 'agent rotate ID [--ttl DURATION] [--token-file PATH [--force]]',
  description:
    'Issue a new token for the agent ID with the same patterns; its previous token stops working at\n' +
    'once. The new token lives --ttl, default as long as the previous one was given. Printed once on\n' +
    'stdout (or written to --token-file), like agent create. With --token-file PATH --force the agent\'s\n' +
    'token file is replaced in place: an agent reading AGENT_VAULT_TOKEN_FILE switches to the new token\n' +
    'at its next request, without a restart.',
  args: ['ID'],
  options: {
    ttl: { type: 'string', value: 'DURATION', description: 'How long the new token lives. Default: the previous lifetime.' },
    'token-file': TOKEN_FILE_OPTION,
    force: FORCE_OPTION,
  },
  examples: [
    'agent-vault agent rotate research-bot',
    'agent-vault agent rotate research-bot --token-file ~/.config/agent-vault/research-bot.token --force',
  ],
  async run({ args, options, output, dir, keyFile, server }) {
    const id = args[0] as string;
    const ttl = options.ttl as string | undefined;
    const destination = tokenDestination(options);
    await withOwnerVault({ dir, keyFile, server }, (vault) =>
      issueToken(output, destination, () => vault.rotateAgent(id, ttl === undefined ? {} : { ttl })));
  },
};
