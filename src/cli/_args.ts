/**
 * Argument parsing: Node's `util.parseArgs` splits the command line, and this file checks the
 * result against what the command accepts. We parse non-strictly and check ourselves so that
 * every message is ours: parseArgs' own messages quote stray arguments, and a stray argument
 * may be a secret someone typed where it does not belong. Our messages never quote a value.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder shown in help, e.g. `PATH`. */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Options every command takes. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  dir: {
    type: 'string',
    value: 'PATH',
    description: 'The vault directory. Default: AGENT_VAULT_DIR, else .agent-vault/ here or in a parent, else ~/.agent-vault.',
  },
  'key-file': {
    type: 'string',
    value: 'PATH',
    description: 'Unlock with this key file instead of a passphrase (for CI; made by init --key-file).',
  },
  json: { type: 'boolean', description: 'Print the result as JSON on stdout, for scripts.' },
  debug: { type: 'boolean', description: 'Print stack traces of errors.' },
  help: { type: 'boolean', short: 'h', description: 'Show this help.' },
};

/** Options of `agent-vault` itself, without a command. */
export const TOP_OPTIONS: OptionSpecs = {
  version: { type: 'boolean', description: 'Print the version.' },
};

export interface ScannedArgs {
  /** Positional words in order: command words first, then the command's arguments. */
  words: string[];
  /** Each option occurrence, in order. */
  options: { name: string; rawName: string; value: string | undefined; inline: boolean }[];
}

/**
 * Split argv with every option any command knows, so that `--dir PATH` takes its value wherever
 * it appears (before or after the command words). An option no command knows is refused here.
 */
export function scanArgs(argv: string[], known: OptionSpecs): ScannedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(known)) {
    options[name] = { type: spec.type, multiple: true, ...(spec.short ? { short: spec.short } : {}) };
  }
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const scanned: ScannedArgs = { words: [], options: [] };
  for (const token of tokens) {
    if (token.kind === 'positional') scanned.words.push(token.value);
    else if (token.kind === 'option') {
      // Checked before anything else: non-strict parseArgs splits an unknown group like `-xyz`
      // into letters and positionals, which must not be read as command words.
      if (!known[token.name]) throw usage(`Unknown option ${shown(token.rawName.replace(/^-+/, ''), token.rawName)}.`);
      scanned.options.push({ name: token.name, rawName: token.rawName, value: token.value, inline: token.inlineValue ?? false });
    }
  }
  return scanned;
}

/** Check the options against what `command` accepts and collect their values. */
export function checkOptions(scanned: ScannedArgs, accepted: OptionSpecs, command: string): OptionValues {
  const values: OptionValues = {};
  for (const option of scanned.options) {
    const spec = accepted[option.name];
    if (!spec) throw usage(`The option ${option.rawName} does not apply to \`${command}\`.`, command);
    if (spec.type === 'boolean') {
      if (option.value !== undefined) throw usage(`The option --${option.name} takes no value.`, command);
      values[option.name] = true;
      continue;
    }
    if (option.value === undefined || (!option.inline && option.value.startsWith('-'))) {
      throw usage(
        `The option --${option.name} needs a value (${spec.value ?? 'VALUE'}). ` +
          `For a value that starts with "-", write --${option.name}=VALUE.`,
        command,
      );
    }
    if (spec.multiple) values[option.name] = [...((values[option.name] as string[] | undefined) ?? []), option.value];
    else if (values[option.name] !== undefined) throw usage(`The option --${option.name} is given twice.`, command);
    else values[option.name] = option.value;
  }
  return values;
}

/**
 * Echo what was typed only when it looks like a word (letters and dashes, short): a misplaced
 * API key almost always has digits, and must not be copied into the terminal and its logs.
 */
export function shown(typed: string, display = typed): string {
  return /^[A-Za-z][A-Za-z-]{0,23}$/.test(typed) ? display : '(not shown: it may be a secret value)';
}

/** A mistake on the command line: exit code 2, with a pointer to the command's help. */
export function usage(message: string, command?: string): UsageError {
  return new UsageError(`${message} See: agent-vault ${command ? `${command} ` : ''}--help`);
}
