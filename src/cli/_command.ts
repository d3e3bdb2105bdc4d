/** The shape every command module exports, and what the dispatcher hands it. */
import type { OptionSpecs, OptionValues } from './_args.ts';
import type { Output } from './_output.ts';

export interface Context {
  /** The command's positional arguments (after the command words). */
  args: string[];
  /** What came after `--`, for a command that runs another (`exec`); else empty. */
  command: string[];
  /** The command's own options and the global ones. */
  options: OptionValues;
  /** `--dir`, when given. */
  dir: string | undefined;
  /** `--key-file`, when given. */
  keyFile: string | undefined;
  output: Output;
}

export interface Command {
  /** The command words: `list`, `agent create`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The synopsis after `agent-vault`, e.g. `set NAME`. */
  usage: string;
  /** What it does, in a few lines (help text). */
  description: string;
  /** Names of the positional arguments, in order; all required. */
  args: string[];
  /** Optional arguments after `args`, any number of them (`scan [PATH...]`): their placeholder. */
  rest?: string;
  /** The message when more arguments are given than `args` names (default: a generic one). */
  tooManyArgs?: string;
  /** Options besides the global ones. */
  options: OptionSpecs;
  examples: string[];
  /** It runs the command line given after `--` (`exec`), which is then required. */
  takesCommand?: boolean;
  /** Resolves to the exit code when it is not 0 on success (`exec`: the child's). */
  run(context: Context): Promise<void | number>;
}
