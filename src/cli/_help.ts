/** Help text, built from the command modules so it cannot drift from what they accept. */
import { GLOBAL_OPTIONS, type OptionSpecs, TOP_OPTIONS } from './_args.ts';
import type { Command } from './_command.ts';
import { COMMANDS } from './commands/index.ts';

function optionLines(options: OptionSpecs): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

/** Every variable agent-vault reads, the agent side's included: one place to learn them all. */
const VARIABLES: [string, string][] = [
  ['AGENT_VAULT_DIR', 'The vault directory, when --dir is not given (owner and agents).'],
  ['AGENT_VAULT_AUDIT_DIR', 'Keep the audit log here instead of in the vault directory, so the vault can\n' +
    'be mounted read-only for agents (set it for the owner too).'],
  ['AGENT_VAULT_PASSPHRASE_FILE', 'A file (chmod 600) holding the passphrase, instead of a prompt.'],
  ['AGENT_VAULT_NEW_PASSPHRASE_FILE', 'The same for the new passphrase of `passwd`.'],
  ['AGENT_VAULT_TOKEN_FILE', 'Agent processes: the file (chmod 600) holding the agent token; re-read when\n' +
    'it changes, so `agent rotate --token-file PATH --force` needs no restart.'],
  ['AGENT_VAULT_TOKEN', 'Agent processes: the token itself (prefer the file; removed from the\n' +
    'environment once read, so child processes do not inherit it).'],
  ['AGENT_VAULT_SERVER', 'The URL of an `agent-vault serve` server, when --server is not given (owner and\n' +
    'agents).'],
  ['AGENT_VAULT_CONFIG_DIR', 'Where the owner remembers the newest vault state it has seen, so a rolled-back\n' +
    'vault is refused. Default: $XDG_CONFIG_HOME/agent-vault, else ~/.config/agent-vault.'],
  ['AGENT_VAULT_STATE_DIR', 'The same for clients of a server (the newest server revision seen).\n' +
    'Default: <config dir>/server-state.'],
  ['AGENT_VAULT_AUDIT_DURABILITY', 'write (default): each audit record survives a crash before its key is\n' +
    'released; fsync or group: a power loss too (group shares one flush).'],
  ['AGENT_VAULT_DATABASE', '`serve`: the SQLite file or postgres:// URL, when --database is not given.'],
  ['AGENT_VAULT_SERVER_DURABILITY', '`serve`: write or fsync, when --durability is not given.'],
  ['NO_COLOR, FORCE_COLOR', 'Turn colours off, or on when not on a terminal.'],
];

const ENVIRONMENT = (() => {
  const width = Math.max(...VARIABLES.map(([name]) => name.length));
  return ['Environment:', ...VARIABLES.flatMap(([name, text]) =>
    text.split('\n').map((line, i) => `  ${(i === 0 ? name : '').padEnd(width)}  ${line}`))];
})();

const EXIT_CODES =
  'Exit codes: 0 ok; 1 the vault refused or failed (the error code says why); 2 usage error; 130 cancelled.';

/** `agent-vault --help`, or the help of one group (`agent-vault agent --help`). */
export function mainHelp(group?: string): string {
  const commands = COMMANDS.filter((command) => !group || command.name.startsWith(`${group} `));
  const synopsis = (command: Command) => [command.name, ...command.args].join(' ');
  const width = Math.max(...commands.map((command) => synopsis(command).length));
  return [
    group
      ? `Usage: agent-vault ${group} <command> [options]`
      : 'agent-vault: agents hold scoped, expiring vault tokens instead of API keys.\n\n' +
        'Usage: agent-vault <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${synopsis(command).padEnd(width)}  ${command.summary}`),
    '',
    'Global options:',
    ...optionLines(group ? GLOBAL_OPTIONS : { ...GLOBAL_OPTIONS, ...TOP_OPTIONS }),
    '',
    ...ENVIRONMENT,
    '',
    EXIT_CODES,
    `Run \`agent-vault ${group ? `${group} ` : ''}<command> --help\` for a command's arguments and options.`,
  ].join('\n');
}

/** `agent-vault <command> --help`. */
export function commandHelp(command: Command): string {
  const own = Object.keys(command.options).length > 0;
  return [
    `Usage: agent-vault ${command.usage}`,
    '',
    command.description,
    '',
    ...(own ? ['Options:', ...optionLines(command.options), ''] : []),
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Examples:',
    ...command.examples.map((example) => `  ${example}`),
    '',
    EXIT_CODES,
  ].join('\n');
}
