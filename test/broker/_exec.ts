/**
 * `agent-vault exec` as users run it: the built CLI, a provider in its own process, and a home
 * directory that looks like a developer's (a vault in ~/.agent-vault, decoy cloud and SSH
 * credentials), with the owner's passphrase in a file outside it. Removed after the test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_ENTRY } from '../cli/_cli.ts';
import { createVault } from '../../src/index.ts';
import { FAST_KDF, fakeKey, tempDir } from '../_fixtures/index.ts';
import type { Received } from './_provider.ts';

export const CLIENTS = join(import.meta.dirname, '_clients');

export interface ProviderProcess {
  origin: string;
  received(): Promise<Received[]>;
  stop(): void;
}

/** The loopback provider in a process of its own. */
export async function providerProcess(): Promise<ProviderProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '_provider.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const origin = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('the provider process exited')));
  });
  return {
    origin,
    received: async () => (await fetch(`${origin}/__received`)).json() as Promise<Received[]>,
    stop: () => void child.kill(),
  };
}

export interface Home {
  root: string;
  home: string;
  /** Where the agent runs (a project directory in the home). */
  project: string;
  passphrase: string;
  passphraseFile: string;
  secrets: Record<string, string>;
  /** The environment exec is started with (owner mode: the passphrase file). */
  env: Record<string, string>;
}

export async function developerHome(): Promise<Home> {
  const root = tempDir('agent-vault-exec-');
  const home = join(root, 'home');
  const project = join(home, 'project');
  mkdirSync(project, { recursive: true });
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(home, '.aws', 'credentials'), '[default]\naws_access_key_id = AKIADECOYDECOYDECOY\n');
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\ndecoy\n');
  const secrets = { 'openai-api-key': fakeKey('sk-proj'), 'anthropic-api-key': fakeKey('sk-ant') };
  const vault = await createVault({ dir: join(home, '.agent-vault'), passphrase: 'correct horse battery', passphraseParams: FAST_KDF });
  for (const [name, value] of Object.entries(secrets)) await vault.set(name, value);
  await vault.close();
  // The owner's passphrase lives outside the agent's home (a secrets mount, a password manager).
  const secretDir = join(root, 'owner');
  mkdirSync(secretDir, { mode: 0o700 });
  const passphraseFile = join(secretDir, 'passphrase');
  writeFileSync(passphraseFile, 'correct horse battery\n');
  chmodSync(passphraseFile, 0o600);
  return {
    root, home, project, passphrase: 'correct horse battery', passphraseFile, secrets,
    env: { HOME: home, AGENT_VAULT_PASSPHRASE_FILE: passphraseFile },
  };
}

export interface Execution {
  child: ChildProcess;
  /** Resolves when exec exits. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The next line the child prints on stdout. */
  line(): Promise<string>;
}

/** Start `agent-vault exec ...args` in `home.project`, with exactly `env` beside PATH. */
export function startExec(home: Home, args: string[], env: Record<string, string | undefined> = home.env): Execution {
  const child = spawn(process.execPath, [CLI_ENTRY, 'exec', ...args], {
    cwd: home.project,
    env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout += `${line}\n`;
    const next = waiting.shift();
    if (next) next(line);
    else lines.push(line);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child, done,
    line: () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise((resolve) => waiting.push(resolve))),
  };
}

/** Run exec to the end. */
export async function runExec(home: Home, args: string[], env?: Record<string, string | undefined>) {
  const execution = startExec(home, args, env);
  execution.child.stdin!.end();
  return execution.done;
}
