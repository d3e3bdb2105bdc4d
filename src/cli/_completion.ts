/**
 * Shell completion scripts, generated from the command modules (like the help), so they list
 * exactly what the dispatcher accepts. Completion never runs the vault: it only knows words.
 */
import { GLOBAL_OPTIONS, type OptionSpecs } from './_args.ts';
import type { Command } from './_command.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Words {
  /** Completions after `agent-vault` alone: top-level commands and groups. */
  top: string[];
  /** Subcommands of each group. */
  groups: Map<string, string[]>;
  /** Each full command name and its options (`--name`). */
  options: Map<string, string[]>;
  /** Options that take a value, whose next word is not a command word. */
  valued: string[];
}

function words(all: readonly Command[]): Words {
  const groups = new Map<string, string[]>();
  const top = new Set<string>();
  const flags = (specs: OptionSpecs) => Object.keys(specs).map((name) => `--${name}`);
  for (const { name } of all) {
    const [first, second] = name.split(' ') as [string, string | undefined];
    top.add(first);
    if (second) groups.set(first, [...(groups.get(first) ?? []), second]);
  }
  const options = new Map(all.map((command) => [command.name, [...flags(command.options), ...flags(GLOBAL_OPTIONS)]]));
  const valued = all.flatMap((command) => Object.entries({ ...command.options, ...GLOBAL_OPTIONS }))
    .filter(([, spec]) => spec.type === 'string').map(([name]) => `--${name}`);
  return { top: [...top], groups, options, valued: [...new Set(valued)] };
}

export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const w = words(commands);
  return shell === 'fish' ? fish(w, commands) : shell === 'zsh' ? zsh(w) : bash(w);
}

function bash(w: Words): string {
  // A command's own arguments follow its name (`get NAME`), hence the `name *` patterns.
  const cases = [
    ...[...w.options].map(([name, flags]) => {
      const subs = w.groups.get(name); // `audit` is a command and the group of `audit verify`
      return `    '${name}'${subs ? '' : ` | '${name} '*`}) opts='${flags.join(' ')}'${subs ? ` words='${subs.join(' ')}'` : ''} ;;`;
    }),
    ...[...w.groups].map(([group, subs]) => `    '${group}') words='${subs.join(' ')}' ;;`),
    `    '') words='${w.top.join(' ')} help' ;;`,
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
    COMPREPLY=($(compgen -W "\${opts:-${Object.keys(GLOBAL_OPTIONS).map((n) => `--${n}`).join(' ')}}" -- "$cur"))
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

function fish(w: Words, commands: readonly Command[]): string {
  const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const groupNames = [...w.groups.keys()];
  const lines = [
    '# agent-vault completion for fish. Save as ~/.config/fish/completions/agent-vault.fish:',
    '#   agent-vault completion fish > ~/.config/fish/completions/agent-vault.fish',
    'complete -c agent-vault -f',
  ];
  for (const command of commands) {
    const [first, second] = command.name.split(' ') as [string, string | undefined];
    if (second === undefined) {
      lines.push(`complete -c agent-vault -n __fish_use_subcommand -a ${first} -d ${quote(command.summary)}`);
    } else {
      const subs = w.groups.get(first) ?? [];
      lines.push(`complete -c agent-vault -n '__fish_seen_subcommand_from ${first}; and not __fish_seen_subcommand_from ${subs.join(' ')}' -a ${second} -d ${quote(command.summary)}`);
    }
    const when = second === undefined ? `__fish_seen_subcommand_from ${first}` : `__fish_seen_subcommand_from ${second}`;
    for (const [name, spec] of Object.entries(command.options)) {
      lines.push(`complete -c agent-vault -n ${quote(when)} -l ${name}${spec.type === 'string' ? ' -r' : ''} -d ${quote(spec.description)}`);
    }
  }
  for (const group of groupNames) lines.push(`complete -c agent-vault -n __fish_use_subcommand -a ${group} -d ${quote(`${group} commands`)}`);
  for (const [name, spec] of Object.entries(GLOBAL_OPTIONS)) {
    lines.push(`complete -c agent-vault -l ${name}${spec.type === 'string' ? ' -r -F' : ''} -d ${quote(spec.description)}`);
  }
  return `${lines.join('\n')}\n`;
}
