/**
 * Shell completion scripts, generated from the command modules (like the help), so they list
 * exactly what the dispatcher accepts. Completion never runs the vault: it only knows words.
 * Commands may be several words (`agent create`, `broker key create`); every proper prefix of a
 * command's words is a group whose children complete after it.
 */
import { GLOBAL_OPTIONS, type OptionSpecs } from './_args.ts';
import type { Command } from './_command.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Words {
  /** The next words after each typed prefix ('' for `agent-vault` alone), with a summary. */
  children: Map<string, Map<string, string>>;
  /** Each full command name and its options (`--name`). */
  options: Map<string, string[]>;
  /** Options that take a value, whose next word is not a command word. */
  valued: string[];
}

const flags = (specs: OptionSpecs) => Object.keys(specs).map((name) => `--${name}`);
const GLOBAL_FLAGS = flags(GLOBAL_OPTIONS).join(' ');

function words(commands: readonly Command[]): Words {
  const children = new Map<string, Map<string, string>>();
  for (const command of commands) {
    const parts = command.name.split(' ');
    parts.forEach((word, i) => {
      const prefix = parts.slice(0, i).join(' ');
      const next = children.get(prefix) ?? new Map<string, string>();
      if (!next.has(word)) next.set(word, i === parts.length - 1 ? command.summary : `${parts.slice(0, i + 1).join(' ')} commands`);
      children.set(prefix, next);
    });
  }
  const options = new Map(commands.map((command) => [command.name, [...flags(command.options), ...flags(GLOBAL_OPTIONS)]]));
  const valued = commands.flatMap((command) => Object.entries({ ...command.options, ...GLOBAL_OPTIONS }))
    .filter(([, spec]) => spec.type === 'string').map(([name]) => `--${name}`);
  return { children, options, valued: [...new Set(valued)] };
}

export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const w = words(commands);
  return shell === 'fish' ? fish(w) : shell === 'zsh' ? zsh(w) : bash(w);
}

function bash(w: Words): string {
  const next = (prefix: string) => [...(w.children.get(prefix)?.keys() ?? [])].join(' ');
  // Longest names first: `broker key create ARG` must not stop at `broker`. A command's own
  // arguments follow its name (`get NAME`), hence `'name '*`, except where the name is a group.
  const names = [...w.options.keys()].sort((a, b) => b.split(' ').length - a.split(' ').length);
  const cases = [
    ...names.map((name) => {
      const group = w.children.has(name);
      return `    '${name}'${group ? '' : ` | '${name} '*`}) opts='${w.options.get(name)!.join(' ')}'${group ? ` words='${next(name)}'` : ''} ;;`;
    }),
    ...[...w.children.keys()].filter((prefix) => prefix !== '' && !w.options.has(prefix))
      .map((prefix) => `    '${prefix}') words='${next(prefix)}' ;;`),
    `    '') words='${next('')} help' ;;`,
  ];
  return `# agent-vault completion for bash. Add to ~/.bashrc:  eval "$(agent-vault completion bash)"
_agent_vault() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd='' words='' opts='' i w skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case " ${w.valued.join(' ')} " in *" $w "*) skip=1; continue ;; esac
    [[ $w == -* ]] && continue
    cmd=\${cmd:+$cmd }$w
  done
  case " ${w.valued.join(' ')} " in *" $prev "*) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
  case $cmd in
${cases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${opts:-${GLOBAL_FLAGS}}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _agent_vault agent-vault
`;
}

/** zsh runs the bash function through bashcompinit, which ships with zsh. */
function zsh(w: Words): string {
  return `# agent-vault completion for zsh. Add to ~/.zshrc:  eval "$(agent-vault completion zsh)"
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(w).split('\n').slice(1).join('\n')}`;
}

function fish(w: Words): string {
  const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [
    '# agent-vault completion for fish. Save it where fish finds it:',
    '#   agent-vault completion fish > ~/.config/fish/completions/agent-vault.fish',
    'complete -c agent-vault -f',
    '# The command words typed so far, without options and their values.',
    'function __agent_vault_typed',
    '    set -l out',
    '    set -l skip 0',
    '    for word in (commandline -opc)[2..-1]',
    '        if test $skip = 1; set skip 0; continue; end',
    `        if contains -- $word ${w.valued.join(' ')}; set skip 1; continue; end`,
    "        string match -q -- '-*' $word; and continue",
    '        set out $out $word',
    '    end',
    '    string join " " $out',
    'end',
    'function __agent_vault_is; test "$(__agent_vault_typed)" = "$argv[1]"; end',
    'function __agent_vault_in; string match -q -- "$argv[1]*" "$(__agent_vault_typed)"; end',
  ];
  for (const [prefix, next] of w.children) {
    for (const [word, summary] of next) lines.push(`complete -c agent-vault -n ${quote(`__agent_vault_is "${prefix}"`)} -a ${word} -d ${quote(summary)}`);
  }
  for (const [name, optionFlags] of w.options) {
    for (const flag of optionFlags.filter((f) => !GLOBAL_FLAGS.split(' ').includes(f))) {
      lines.push(`complete -c agent-vault -n ${quote(`__agent_vault_in "${name}"`)} -l ${flag.slice(2)}${w.valued.includes(flag) ? ' -r' : ''}`);
    }
  }
  for (const [name, spec] of Object.entries(GLOBAL_OPTIONS)) {
    lines.push(`complete -c agent-vault -l ${name}${spec.type === 'string' ? ' -r -F' : ''} -d ${quote(spec.description)}`);
  }
  return `${lines.join('\n')}\n`;
}
