import type { Command } from '../_command.ts';
import { formatTime, table } from '../_output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const list: Command = {
  name: 'list',
  summary: 'List secrets: names, versions, dates, agents (never values)',
  usage: 'list',
  description: 'List every secret in the vault with its version, last update and the agents granted it.',
  args: [],
  options: {},
  examples: ['agent-vault list', 'agent-vault list --json'],
  async run({ output, dir, keyFile }) {
    const secrets = await withOwnerVault({ dir, keyFile }, (vault) => vault.list());
    output.result(
      secrets.map((s) => ({ ...s, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() })),
      secrets.length
        ? table(output, ['NAME', 'VERSION', 'UPDATED', 'AGENTS'],
          secrets.map((s) => [s.name, String(s.version), formatTime(s.updatedAt), s.agents.join(', ') || '-']))
        : undefined,
    );
    if (!secrets.length && !output.json) output.note('No secrets yet. Add one: agent-vault set NAME');
  },
};
