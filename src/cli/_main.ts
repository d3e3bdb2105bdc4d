/**
 * The dispatcher and the one top-level error handler. Exit codes: 0 ok; 1 the vault refused or
 * failed (any VaultError but a usage error: not found, access denied, integrity, audit, backend);
 * 2 a usage error (the command line, or a value it passed, is wrong); 130 cancelled at a prompt.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isVaultError } from '../errors.ts';
import { checkOptions, GLOBAL_OPTIONS, type OptionSpecs, scanArgs, shown, TOP_OPTIONS, usage } from './_args.ts';
import type { Command } from './_command.ts';
import { commandHelp, mainHelp } from './_help.ts';
import { Output, printable, safeJson } from './_output.ts';
import { CancelledError } from './_prompt.ts';
import { COMMANDS, GROUPS } from './commands/index.ts';

const EXIT = { ok: 0, vault: 1, usage: 2, cancelled: 130 } as const;

/** Every option any command knows, so values are taken wherever they appear on the line. */
const ALL_OPTIONS: OptionSpecs = Object.assign({}, GLOBAL_OPTIONS, TOP_OPTIONS, ...COMMANDS.map((command) => command.options));

/** The longest run of leading words that names a command (`broker key create`, `agent create` before `agent`). */
function findCommand(words: string[]): { command?: Command; group?: string; consumed: number } {
  for (const length of [3, 2, 1]) {
    const name = words.slice(0, length).join(' ');
    const command = words.length >= length ? COMMANDS.find((c) => c.name === name) : undefined;
    if (command) return { command, consumed: length };
  }
  const group = words[0] !== undefined && GROUPS.includes(words[0]) ? words[0] : undefined;
  return { group, consumed: group ? 1 : 0 };
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  let output = new Output({ json: argv.includes('--json') });
  try {
    // Everything after the first `--` is a command line of its own (`exec -- python agent.py`),
    // never read as our options; commands that take none see it as arguments, as before.
    const split = argv.indexOf('--');
    const scanned = scanArgs(split === -1 ? argv : argv.slice(0, split), ALL_OPTIONS);
    const rest = split === -1 ? undefined : argv.slice(split + 1);
    const asked = (name: string) => scanned.options.some((option) => option.name === name);
    const helpWord = scanned.words[0] === 'help';
    const words = helpWord ? scanned.words.slice(1) : scanned.words;
    if (words.length === 0) {
      if (asked('help') || helpWord) return printHelp(mainHelp());
      if (asked('version')) return printHelp(packageVersion());
      throw usage('Missing command.');
    }
    const { command, group, consumed } = findCommand(words);
    if (!command) {
      if (group && words.length === 1) {
        if (asked('help') || helpWord) return printHelp(mainHelp(group));
        throw usage(`\`agent-vault ${group}\` needs a subcommand.`, group);
      }
      const typed = words[group ? 1 : 0] as string;
      throw usage(`Unknown command ${group ? `${group} ` : ''}${shown(typed, JSON.stringify(typed))}.`, group);
    }
    if (asked('help') || helpWord) return printHelp(commandHelp(command));
    const options = checkOptions(scanned, { ...GLOBAL_OPTIONS, ...command.options }, command.name);
    output = new Output({ json: options.json === true });
    const args = words.slice(consumed);
    if (rest !== undefined && !command.takesCommand) args.push(...rest);
    if (command.takesCommand && (rest === undefined || rest.length === 0)) {
      throw usage(`Give the command to run after --: the usage is \`agent-vault ${command.usage}\`.`, command.name);
    }
    if (args.length > command.args.length && command.rest === undefined) {
      throw usage(command.tooManyArgs ?? `\`agent-vault ${command.name}\` takes ${describeArgs(command)}.`, command.name);
    }
    if (args.length < command.args.length) {
      throw usage(`Missing ${command.args.slice(args.length).join(' ')}: the usage is \`agent-vault ${command.usage}\`.`, command.name);
    }
    const code = await command.run({
      args,
      command: rest ?? [],
      options,
      dir: options.dir as string | undefined,
      keyFile: options['key-file'] as string | undefined,
      output,
    });
    return code ?? EXIT.ok;
  } catch (error) {
    return report(error, output, debug);
  }
}

function describeArgs(command: Command): string {
  return command.args.length === 0 ? 'no arguments' : `only ${command.args.join(' ')}`;
}

/** Help was asked for: stdout, exit 0 (a usage error points at it on stderr instead). */
function printHelp(text: string): number {
  new Output({ json: false }).result(undefined, text);
  return EXIT.ok;
}

/** The one place errors become messages and exit codes. Never a stack trace without --debug. */
function report(error: unknown, output: Output, debug: boolean): number {
  if (error instanceof CancelledError) {
    output.note('Cancelled.');
    return EXIT.cancelled;
  }
  const known = isVaultError(error);
  const code = known ? error.code : 'UNEXPECTED';
  // Messages may quote what an attacker stored (a record's actor, say): never raw to the terminal.
  const message = (error instanceof Error ? error.message : String(error)).split('\n').map(printable).join('\n');
  if (output.json) output.note(safeJson({ error: { code, message } }));
  else {
    output.note(`${output.err('red', 'error:')} ${message} ${output.err('dim', `(${code})`)}`);
    if (!known && !debug) output.note('This is a bug in agent-vault; run again with --debug to see where, and report it.');
  }
  if (debug) {
    for (let cause: unknown = error; cause !== undefined; cause = (cause as { cause?: unknown }).cause) {
      output.note(cause instanceof Error ? (cause.stack ?? cause.message) : `cause: ${String(cause)}`);
      if (!(cause instanceof Error)) break;
    }
  }
  return known && error.code === 'USAGE' ? EXIT.usage : EXIT.vault;
}

/** The version in the package.json above the running file (dist/cli/ or src/cli/). */
function packageVersion(): string {
  for (let dir = dirname(realpathSync(process.argv[1] ?? '.')); ; dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      const json = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'agent-vault' && json.version) return json.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
