import { UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { formatTime, relativeTime } from '../_output.ts';
import { agentJson } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';
import { findAgent } from './agent-show.ts';

export const agentUpdate: Command = {
  name: 'agent update',
  summary: 'Change an agent\'s patterns or lifetime; its token keeps working',
  usage: 'agent update ID [--allow PATTERN]... [--ttl DURATION]',
  description:
    'Change what the agent ID may read (--allow replaces its patterns; repeat it for several) or how\n' +
    'long its token lives (--ttl, counted from now), without a new token: the running agent sees the\n' +
    'change at its next request. Secrets that no longer match lose their grant to it. To cut off a\n' +
    'token that may have leaked, use `agent rotate` or `agent revoke` instead.',
  args: ['ID'],
  options: {
    allow: { type: 'string', multiple: true, value: 'PATTERN', description: 'The new patterns (replacing the old; repeatable).' },
    ttl: { type: 'string', value: 'DURATION', description: 'The token\'s new lifetime from now: 90s, 15m, 1h, 30d, 2w.' },
  },
  examples: [
    "agent-vault agent update research-bot --allow 'openai-*' --allow 'anthropic-*'",
    'agent-vault agent update research-bot --ttl 90d',
  ],
  async run({ args, options, output, dir, keyFile, server }) {
    const id = args[0] as string;
    const allow = options.allow as string[] | undefined;
    const ttl = options.ttl as string | undefined;
    if (allow === undefined && ttl === undefined) {
      throw new UsageError("Say what to change: --allow PATTERN (repeatable) and/or --ttl DURATION. See: agent-vault agent update --help");
    }
    await withOwnerVault({ dir, keyFile, server }, async (vault) => {
      await findAgent(vault, id);
      const agent = await vault.updateAgent(id, { ...(allow ? { allow } : {}), ...(ttl ? { ttl } : {}) });
      const reads = (await vault.list()).filter((secret) => secret.agents.includes(id)).map((secret) => secret.name);
      output.result({ ...agentJson(agent), secrets: reads });
      output.note(
        `Updated agent ${JSON.stringify(id)}: it may read ${agent.allow.map((p) => JSON.stringify(p)).join(', ')} until ` +
          `${formatTime(agent.expiresAt)} (${relativeTime(agent.expiresAt)}); its token is unchanged. ` +
          (reads.length ? `It can read now: ${reads.join(', ')}.` : 'No secret matches its patterns yet.'),
      );
    });
  },
};
