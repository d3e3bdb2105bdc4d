import type { Command } from '../_command.ts';
import { formatTime, relativeTime, table } from '../_output.ts';
import { agentJson } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentList: Command = {
  name: 'agent list',
  summary: 'List agents: status, patterns, expiry',
  usage: 'agent list',
  description: 'List every agent with its status (active, expired, revoked), patterns, expiry and token generation.',
  args: [],
  options: {},
  examples: ['agent-vault agent list', 'agent-vault agent list --json'],
  async run({ output, dir, keyFile, server }) {
    const agents = await withOwnerVault({ dir, keyFile, server }, (vault) => vault.listAgents());
    const painted = (status: string) =>
      output.out(status === 'active' ? 'green' : status === 'revoked' ? 'red' : 'yellow', status);
    output.result(
      agents.map(agentJson),
      agents.length
        ? table(output, ['ID', 'STATUS', 'ALLOW', 'EXPIRES', 'GEN'], agents.map((a) => [
          a.id,
          painted(a.status),
          a.allow.join(', '),
          a.status === 'revoked' ? '-' : `${formatTime(a.expiresAt)} (${relativeTime(a.expiresAt)})`,
          // During a rotation's grace the previous token works too: say until when.
          a.previous ? `${a.generation} (${a.previous.generation} until ${formatTime(a.previous.until)})` : String(a.generation),
        ]))
        : undefined,
    );
    if (!agents.length && !output.json) output.note("No agents yet. Create one: agent-vault agent create ID --allow 'PATTERN'");
  },
};
