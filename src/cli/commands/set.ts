import { wipe } from '../../crypto.ts';
import { UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { promptHidden, readStdin, withoutTrailingNewline } from '../_prompt.ts';
import { withOwnerVault } from '../_unlock.ts';

/** Secret values are short (keys, tokens, a PEM file); a runaway pipe should not fill memory. */
const MAX_VALUE_BYTES = 64 * 1024;

const VALUE_REFUSED =
  'agent-vault set does not take the value as an argument: command-line arguments are saved in shell ' +
  'history and visible to every user of this machine (ps, /proc). Nothing was stored. Type the value at ' +
  'the hidden prompt (run `agent-vault set NAME`), or pipe it in: `agent-vault set NAME < file`. If that ' +
  'was a real secret, consider it exposed and replace it at its provider.';

export const set: Command = {
  name: 'set',
  summary: 'Store a secret (value from a hidden prompt or stdin, never argv)',
  usage: 'set NAME',
  description:
    'Store a new version of the secret NAME. The value is read from a hidden prompt when stdin is a\n' +
    'terminal, else from stdin (one trailing newline is dropped, so `echo` works). A value given as an\n' +
    'argument is refused: arguments leak into shell history and `ps`. The new version is granted to\n' +
    `every active agent whose patterns match NAME. Values up to ${MAX_VALUE_BYTES / 1024} KiB.`,
  args: ['NAME'],
  tooManyArgs: VALUE_REFUSED,
  options: {},
  examples: ['agent-vault set openai-api-key', 'agent-vault set gcp-service-account < key.json'],
  async run({ args, output, dir, keyFile }) {
    const name = args[0] as string;
    // `set NAME=VALUE` would put the value in argv too, and in any error message about the name.
    if (name.includes('=')) throw new UsageError(VALUE_REFUSED);
    await withOwnerVault({ dir, keyFile }, async (vault) => {
      const value = process.stdin.isTTY
        ? await promptHidden(`Value for ${name} (hidden):`, 'Pipe the value in on stdin instead.')
        : await readStdin(MAX_VALUE_BYTES);
      const bytes = typeof value === 'string' ? value : withoutTrailingNewline(value);
      let version: number;
      try {
        if (bytes.length === 0) throw new UsageError('The value is empty; nothing was stored.');
        ({ version } = await vault.set(name, bytes));
      } finally {
        if (value instanceof Uint8Array) wipe(value);
      }
      const canonical = name.normalize('NFC');
      const agents = (await vault.list()).find((secret) => secret.name === canonical)?.agents ?? [];
      output.result({ name: canonical, version, agents });
      output.note(
        `Stored ${JSON.stringify(canonical)} (version ${version}); ` +
          (agents.length ? `granted to ${agents.join(', ')}.` : 'no agent is granted it yet.'),
      );
    });
  },
};
