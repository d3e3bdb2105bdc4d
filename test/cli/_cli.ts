/**
 * Run the agent-vault command line as a subprocess, the way users run it, in a temporary
 * directory with a clean environment.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/**
 * THE place that says which CLI the tests run: the built one, dist/cli/index.js (the package's
 * `bin`, built from the tsup entry `cli/index`). Until that entry is in tsup.config.ts the
 * sources run instead (Node 24 runs TypeScript directly); once it is, delete the fallback.
 */
export const CLI_ENTRY = join(root, 'dist', 'cli', 'index.js');

/** The built package, for the second process that resolves secrets as an agent. */
export const PACKAGE_ENTRY = join(root, 'dist', 'index.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  /** Written to stdin, which is then closed. Default: stdin is empty (closed at once). */
  input?: string | Uint8Array;
  env?: Record<string, string | undefined>;
}

/** Every run, for the no-leak check: any test can assert over everything printed so far. */
export const transcript: (CliResult & { args: string[] })[] = [];

/** A clean environment: no vault, token, passphrase or colour settings from the caller's shell. */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AGENT_VAULT_|NO_COLOR$|FORCE_COLOR$|NODE_OPTIONS$)/.test(name)) env[name] = value;
  }
  env.HOME = home;
  env.USERPROFILE = home;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Run `node <CLI_ENTRY> ...args`. Detached (its own session), so it has no controlling terminal:
 * a prompt cannot reach the terminal of whoever runs the tests, it fails as in CI.
 */
export function runCli(args: string[], options: RunOptions): Promise<CliResult> {
  return run(process.execPath, [CLI_ENTRY, ...args], options).then((result) => {
    transcript.push({ args, ...result });
    return result;
  });
}

/** Run any command the same way (used for the agent's own process). */
export function run(command: string, args: string[], options: RunOptions): Promise<CliResult> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: cleanEnv(options.cwd, options.env),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined); // the child may exit without reading its input
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `script` (util-linux) gives the CLI a pseudo-terminal; elsewhere the terminal tests skip. */
export const canUseTerminal = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;

/**
 * Run the CLI on a pseudo-terminal (through `script`) and type each answer after its prompt
 * appears, as a person would: typing earlier would be echoed by the terminal before the CLI
 * turns echo off. `answers` may end with '\u0003' (Ctrl-C). The output is the terminal's.
 */
export function runInTerminal(args: string[], answers: string[], options: RunOptions): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CLI_ENTRY, ...args].map((word) => `'${word.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: options.cwd,
    env: cleanEnv(options.cwd, options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let answered = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    const prompts = output.match(/passphrase: |\(hidden\): |\[y\/N\] /g)?.length ?? 0;
    // A short pause after the prompt, so the CLI has put the terminal in raw mode.
    while (answered < Math.min(prompts, answers.length)) {
      const answer = answers[answered++] as string;
      setTimeout(() => child.stdin.write(answer === '\u0003' ? answer : `${answer}\r`), 50);
    }
  });
  const timer = setTimeout(() => child.kill(), 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** What the agent process (test/cli/_resolve.ts) printed: the SHA-256 of the value, or the refusal. */
export interface AgentResult {
  ok: boolean;
  sha256?: string;
  code?: string;
  reason?: string;
}

/** Resolve `name` in a separate agent process that uses the built package and the token on stdin. */
export async function resolveAsAgent(cwd: string, dir: string, token: string, name = 'openai-api-key'): Promise<AgentResult> {
  const result = await run(process.execPath, [join(import.meta.dirname, '_resolve.ts'), PACKAGE_ENTRY, dir, name], { cwd, input: token });
  if (result.stderr !== '') throw new Error(`The agent process wrote to stderr: ${result.stderr}`);
  return JSON.parse(result.stdout) as AgentResult;
}
