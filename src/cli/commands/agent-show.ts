import { UsageError } from '../../errors.ts';
import type { AgentInfo } from '../../options.ts';
import type { Vault } from '../../vault.ts';
import type { Command } from '../_command.ts';
import { formatTime, relativeTime } from '../_output.ts';
import { didYouMean } from '../_suggest.ts';
import { agentJson } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentShow: Command = {
  name: 'agent show',
  summary: 'Show one agent: status, patterns, expiry, the secrets it can read',
  usage: 'agent show ID',
  description:
    'Show the agent ID: its status, patterns, creation and expiry, token generation, and the secrets\n' +
    'it can read now. Never its token (which is stored nowhere).',
  args: ['ID'],
  options: {},
  examples: ['agent-vault agent show research-bot', 'agent-vault agent show research-bot --json'],
  async run({ args, output, dir, keyFile, server }) {
    const id = args[0] as string;
    await withOwnerVault({ dir, keyFile, server }, async (vault) => {
      const agent = await findAgent(vault, id);
      const secrets = (await vault.list()).filter((secret) => secret.agents.includes(id)).map((secret) => secret.name);
      output.result({ ...agentJson(agent), secrets }, [
        `Agent    ${agent.id}`,
        `Status   ${agent.status}`,
        `Allow    ${agent.allow.join(', ')}`,
        `Created  ${formatTime(agent.createdAt)}`,
        `Expires  ${agent.status === 'revoked' ? '-' : `${formatTime(agent.expiresAt)} (${relativeTime(agent.expiresAt)})`}`,
        `Token    generation ${agent.generation}`,
        `Reads    ${secrets.length ? secrets.join(', ') : '(nothing yet)'}`,
      ].join('\n'));
    });
  },
};

/** The agent `id`, or a usage error that names the closest id. */
export async function findAgent(vault: Vault, id: string): Promise<AgentInfo> {
  const agents = await vault.listAgents();
  const agent = agents.find((candidate) => candidate.id === id);
  if (agent) return agent;
  const hint = didYouMean(id, agents.map((a) => a.id), (word) => JSON.stringify(word));
  throw new UsageError(`This vault has no agent ${JSON.stringify(id)}.${hint} See: agent-vault agent list --all`);
}
