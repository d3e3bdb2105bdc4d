import type { Command } from '../_command.ts';
import { formatTime, relativeTime, table } from '../_output.ts';
import { agentJson } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentList: Command = {
  name: 'agent list',
  summary: 'List active agents (--all: expired and revoked too)',
  usage: 'agent list',
  description:
    'List the active agents with their patterns, expiry and token generation. Expired and revoked\n' +
    'agents are hidden (their records stay, so an old token can never come back); --all shows them.',
  args: [],
  options: {
    all: { type: 'boolean', description: 'Show expired and revoked agents too.' },
  },
  examples: ['agent-vault agent list', 'agent-vault agent list --all --json'],
  async run({ options, output, dir, keyFile, server }) {
    const everyAgent = await withOwnerVault({ dir, keyFile, server }, (vault) => vault.listAgents());
    const agents = options.all ? everyAgent : everyAgent.filter((agent) => agent.status === 'active');
    const hidden = everyAgent.length - agents.length;
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
    if (output.json) return;
    if (hidden > 0) output.note(`${hidden} expired or revoked agent${hidden === 1 ? '' : 's'} not shown: agent-vault agent list --all`);
    else if (!agents.length) output.note("No agents yet. Create one: agent-vault agent create ID --allow 'PATTERN'");
  },
};
