import { UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { issueToken, TOKEN_FILE_OPTION } from '../_token-output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const agentCreate: Command = {
  name: 'agent create',
  summary: 'Create an agent; prints its token once',
  usage: "agent create ID --allow PATTERN [--allow PATTERN]... [--ttl DURATION] [--token-file PATH]",
  description:
    'Create the agent ID, allowed to read the secrets whose names match a PATTERN (`*` any run of\n' +
    'characters, `?` one character), for DURATION (90s, 15m, 1h, 30d, 2w; default 30d). Its token is\n' +
    'printed once on stdout (or written to --token-file) and stored nowhere; how to hand it to the\n' +
    'agent process is printed on stderr.',
  args: ['ID'],
  tooManyArgs: "Give each pattern its own --allow, e.g. --allow 'openai-*' --allow 'anthropic-*'.",
  options: {
    allow: { type: 'string', multiple: true, value: 'PATTERN', description: 'A name pattern the agent may read (repeatable).' },
    ttl: { type: 'string', value: 'DURATION', description: 'How long the token lives: 90s, 15m, 1h, 30d, 2w. Default 30d.' },
    'token-file': TOKEN_FILE_OPTION,
  },
  examples: [
    "agent-vault agent create research-bot --allow 'openai-*' --ttl 30d",
    "agent-vault agent create ci --allow 'npm-token' --ttl 1h --token-file ./ci.token",
  ],
  async run({ args, options, output, dir, keyFile }) {
    const id = args[0] as string;
    const allow = (options.allow as string[] | undefined) ?? [];
    if (allow.length === 0) throw new UsageError("Say which secrets the agent may read: --allow PATTERN, e.g. --allow 'openai-*'.");
    const ttl = (options.ttl as string | undefined) ?? '30d';
    await withOwnerVault({ dir, keyFile }, async (vault) => {
      await issueToken(output, options['token-file'] as string | undefined, () => vault.createAgent(id, { allow, ttl }));
      const granted = (await vault.list()).filter((secret) => secret.agents.includes(id)).map((secret) => secret.name);
      output.note(
        (granted.length ? `It can read now: ${granted.join(', ')}.` : 'No secret matches its patterns yet.') +
          ' Secrets set later that match are granted to it as well.',
      );
    });
  },
};
