import type { Command } from '../_command.ts';
import { formatTime, relativeTime } from '../_output.ts';
import { FORCE_OPTION, issueToken, TOKEN_FILE_OPTION, tokenDestination } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';
import type { AgentInfo } from '../../options.ts';

export const agentRotate: Command = {
  name: 'agent rotate',
  summary: 'Issue a new token for an agent; the old one stops working (at once, or after --grace)',
  usage: 'agent rotate ID [--ttl DURATION] [--grace DURATION] [--token-file PATH [--force]]',
  description:
    'Issue a new token for the agent ID with the same patterns; its previous token stops working at\n' +
    'once, or with --grace keeps the same scope that long (never past its own expiry), so a running\n' +
    'agent can switch to the new token without downtime. The new token works at once and lives --ttl,\n' +
    'default as long as the previous one was given. Rotating again during a grace, or revoking,\n' +
    'ends it: the oldest token stops at once. With a server vault the server enforces the end; in a\n' +
    'local vault the agent library checks it, which (like expiry) does not bind someone who copied\n' +
    'the vault directory; the next owner command after the grace removes the old token\'s keys.\n' +
    'Printed once on stdout (or written to --token-file), like agent create. With --token-file PATH\n' +
    '--force the agent\'s token file is replaced in place: an agent reading AGENT_VAULT_TOKEN_FILE\n' +
    'switches to the new token at its next request, without a restart.',
  args: ['ID'],
  options: {
    ttl: { type: 'string', value: 'DURATION', description: 'How long the new token lives. Default: the previous lifetime.' },
    grace: { type: 'string', value: 'DURATION', description: 'How long the previous token keeps working: 90s, 15m, 1h. Default: none.' },
    'token-file': TOKEN_FILE_OPTION,
    force: FORCE_OPTION,
  },
  examples: [
    'agent-vault agent rotate research-bot',
    'agent-vault agent rotate research-bot --grace 15m --token-file ~/.config/agent-vault/research-bot.token --force',
    'agent-vault agent rotate ci --ttl 1h --token-file ./ci.token',
  ],
  async run({ args, options, output, dir, keyFile, server }) {
    const id = args[0] as string;
    const ttl = options.ttl as string | undefined;
    const grace = options.grace as string | undefined;
    const destination = tokenDestination(options);
    let rotated: AgentInfo | undefined;
    await withOwnerVault({ dir, keyFile, server }, (vault) =>
      issueToken(output, destination, async () => {
        const result = await vault.rotateAgent(id, { ...(ttl === undefined ? {} : { ttl }), ...(grace === undefined ? {} : { grace }) });
        rotated = result.agent;
        return result;
      }));
    const previous = rotated?.previous;
    if (previous) {
      output.note(`The previous token keeps working until ${formatTime(previous.until)} (${relativeTime(previous.until)}), then stops.`);
    } else if (grace !== undefined) {
      output.note('The previous token had expired, so it gets no grace.');
    }
  },
};
