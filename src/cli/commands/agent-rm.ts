import type { Command } from '../_command.ts';
import { withOwnerVault } from '../_unlock.ts';
import { findAgent } from './agent-show.ts';

export const agentRm: Command = {
  name: 'agent rm',
  summary: 'Remove an agent: revoked at once, then hidden from agent list',
  usage: 'agent rm ID',
  description:
    'Remove the agent ID: its token is refused from its next request on, its grants are removed, and\n' +
    'it no longer shows in `agent list`. A tombstone of its record stays (see `agent list --all`):\n' +
    'agent keys are derived from the id and a generation, and the tombstone is what keeps an agent\n' +
    'created later under the same id from ever reviving an old token.',
  args: ['ID'],
  options: {},
  examples: ['agent-vault agent rm research-bot'],
  async run({ args, output, dir, keyFile, server }) {
    const id = args[0] as string;
    await withOwnerVault({ dir, keyFile, server }, async (vault) => {
      const agent = await findAgent(vault, id);
      if (agent.status !== 'revoked') await vault.revokeAgent(id);
    });
    output.result({ id, status: 'revoked', removed: true });
    output.note(`Removed agent ${JSON.stringify(id)}: its token is refused from now on.`);
  },
};
