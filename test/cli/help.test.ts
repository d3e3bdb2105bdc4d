import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.ts';
import { runCli } from './_cli.ts';
import { tempDir } from '../_fixtures/index.ts';

// Help needs no vault and no credentials: it runs in an empty directory.
const cwd = tempDir();

describe('agent-vault --help', () => {
  it('lists every command with its arguments, the environment and the exit codes', async () => {
    const result = await runCli(['--help'], { cwd });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^agent-vault: .*\n\nUsage: agent-vault <command> \[options\]\n/);
    for (const command of COMMANDS) {
      expect(result.stdout).toMatch(new RegExp(`\\n  ${[command.name, ...command.args].join(' ')} +${escape(command.summary)}\\n`));
    }
    for (const text of ['--dir PATH', '--key-file PATH', '--json', '--debug', '-h, --help', '--version',
      'AGENT_VAULT_DIR', 'AGENT_VAULT_PASSPHRASE_FILE', 'NO_COLOR', 'Exit codes: 0 ok', '2 usage error']) {
      expect(result.stdout).toContain(text);
    }
    expect((await runCli(['help'], { cwd })).stdout).toBe(result.stdout);
    expect((await runCli(['-h'], { cwd })).stdout).toBe(result.stdout);
  });

  it('agent --help lists only the agent commands', async () => {
    const result = await runCli(['agent', '--help'], { cwd });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Usage: agent-vault agent <command>/);
    expect(result.stdout).toContain('agent create ID');
    expect(result.stdout).toContain('agent rotate ID');
    expect(result.stdout).not.toContain('\n  init');
  });
});

describe.each(COMMANDS.map((command) => [command.name, command] as const))('agent-vault %s --help', (name, command) => {
  it('prints usage, description, every option and examples on stdout, exit 0, even without arguments', async () => {
    const result = await runCli([...name.split(' '), '--help'], { cwd });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const help = result.stdout;
    expect(help.startsWith(`Usage: agent-vault ${command.usage}\n\n${command.description}\n`)).toBe(true);
    for (const [option, spec] of Object.entries(command.options)) {
      expect(help).toContain(`--${option}${spec.value ? ` ${spec.value}` : ''}  `);
      expect(help).toContain(spec.description);
    }
    for (const global of ['--dir PATH', '--key-file PATH', '--json', '--debug', '-h, --help']) expect(help).toContain(global);
    expect(help).toContain('Examples:\n');
    for (const example of command.examples) expect(help).toContain(`  ${example}\n`);
    expect(help).toContain('Exit codes:');
    expect((await runCli(['help', ...name.split(' ')], { cwd })).stdout).toBe(help);
  });
});

describe('what the help text promises', () => {
  it('set explains why a value is never an argument', async () => {
    const { stdout } = await runCli(['set', '--help'], { cwd });
    expect(stdout).toContain('hidden prompt');
    expect(stdout).toContain('stdin');
    expect(stdout).toContain('shell history');
  });

  it('agent create names the token hand-over and the duration units', async () => {
    const { stdout } = await runCli(['agent', 'create', '--help'], { cwd });
    expect(stdout).toContain('--allow PATTERN');
    expect(stdout).toContain('--ttl DURATION');
    expect(stdout).toContain('printed once on stdout');
    expect(stdout).toMatch(/90s, 15m, 1h, 30d, 2w/);
  });

  it('get says the value is printed only with --reveal', async () => {
    const { stdout } = await runCli(['get', '--help'], { cwd });
    expect(stdout).toContain('With --reveal, print its value');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
