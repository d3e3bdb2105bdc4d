import type { Command } from '../_command.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentRevoke: Command = {
  name: 'agent revoke',
  summary: 'Revoke an agent: its token stops working at once',
  usage: 'agent revoke ID',
  description:
    'Revoke the agent ID: its token is refused from its next request on and its grants are removed.\n' +
    'To give it access again, create it again (a new token).',
  args: ['ID'],
  options: {},
  examples: ['agent-vault agent revoke research-bot'],
  async run({ args, output, dir, keyFile }) {
    const id = args[0] as string;
    await withOwnerVault({ dir, keyFile }, (vault) => vault.revokeAgent(id));
    output.result({ id, status: 'revoked' });
    output.note(`Revoked agent ${JSON.stringify(id)}: its token is refused from now on.`);
  },
};
