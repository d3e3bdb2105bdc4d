import { SecretNotFoundError, UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { formatTime } from '../_output.ts';
import { withOwnerVault } from '../_unlock.ts';

export const get: Command = {
  name: 'get',
  summary: 'Show a secret\'s metadata; its value only with --reveal',
  usage: 'get NAME [--reveal]',
  description:
    'Show the version, dates and granted agents of the secret NAME. With --reveal, print its value\n' +
    '(and nothing else) on stdout instead, e.g. to pipe it somewhere; the read is audited. Add a\n' +
    'newline only when stdout is a terminal.',
  args: ['NAME'],
  options: {
    reveal: { type: 'boolean', description: 'Print the value itself on stdout.' },
  },
  examples: ['agent-vault get openai-api-key', 'agent-vault get openai-api-key --reveal | pbcopy'],
  async run({ args, options, output, dir, keyFile }) {
    const name = args[0] as string;
    if (options.reveal && output.json) {
      throw new UsageError('--reveal prints the bare value; it does not combine with --json.');
    }
    await withOwnerVault({ dir, keyFile }, async (vault) => {
      if (options.reveal) {
        await vault.use(name, async (secret) => {
          // Written straight from the vault's buffer, which is wiped once the OS has the bytes.
          await output.raw(secret.bytes);
          if (output.stdoutIsTerminal) await output.raw(new Uint8Array([0x0a]));
        });
        return;
      }
      const canonical = name.normalize('NFC');
      const info = (await vault.list()).find((secret) => secret.name === canonical);
      if (!info) throw new SecretNotFoundError(`No secret named ${JSON.stringify(canonical)} in this vault. See: agent-vault list`);
      output.result(
        { ...info, createdAt: info.createdAt.toISOString(), updatedAt: info.updatedAt.toISOString() },
        [
          `Name     ${info.name}`,
          `Version  ${info.version}`,
          `Created  ${formatTime(info.createdAt)}`,
          `Updated  ${formatTime(info.updatedAt)}`,
          `Agents   ${info.agents.length ? info.agents.join(', ') : '(none)'}`,
        ].join('\n'),
      );
    });
  },
};
