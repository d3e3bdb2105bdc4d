import { UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { completionScript, type Shell, SHELLS } from '../_completion.ts';

export const completion: Command = {
  name: 'completion',
  summary: 'Print a shell completion script (bash, zsh, fish)',
  usage: 'completion SHELL',
  description:
    'Print the completion script for SHELL (bash, zsh or fish) on stdout: commands, subcommands and\n' +
    'options complete with Tab. It only knows words: nothing is unlocked, and no secret name is offered.',
  args: ['SHELL'],
  options: {},
  examples: [
    'eval "$(agent-vault completion bash)"    # in ~/.bashrc',
    'eval "$(agent-vault completion zsh)"     # in ~/.zshrc',
    'agent-vault completion fish > ~/.config/fish/completions/agent-vault.fish',
  ],
  async run({ args, output }) {
    const shell = args[0] as string;
    if (!(SHELLS as readonly string[]).includes(shell)) {
      throw new UsageError(`Completion is available for ${SHELLS.join(', ')}; see: agent-vault completion --help`);
    }
    // Imported here: the command list imports this module, so it cannot be read at load time.
    const { COMMANDS } = await import('./index.ts');
    const script = completionScript(shell as Shell, COMMANDS);
    output.result({ shell, script }, script);
  },
};
