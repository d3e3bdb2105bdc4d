/**
 * The attack on exec's own process. The command exec runs is the same OS user, so it can read
 * /proc/<exec>/environ and cmdline (and every ancestor's), list exec's open files, and, where
 * Yama does not restrict ptrace, read exec's memory. Deleting a variable from process.env does
 * not change /proc/<pid>/environ, so exec re-executes itself with a clean environment before
 * it starts the command; this is the harvester that checks, and tries what it found.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVault } from '../../src/index.ts';
import { tempDir } from '../_fixtures/index.ts';
import { CLIENTS, developerHome, type Home, providerProcess, type ProviderProcess, runExec } from './_exec.ts';

interface Loot {
  ancestors: { pid: number; environ: string; cmdline: string }[];
  fds: string[];
  files: Record<string, string>;
  mem: { readable: boolean; bytes: number; tokens: string[]; keys: string[]; error?: string };
  yama: string;
}

let provider: ProviderProcess;
let home: Home;
let scratch: string;
let upstreams: string[];

beforeAll(async () => {
  [provider, home] = await Promise.all([providerProcess(), developerHome()]);
  scratch = tempDir('agent-vault-exec-parent-');
  upstreams = ['--upstream', `openai=${provider.origin}`];
});
afterAll(() => provider?.stop());

async function harvest(args: string[], env: Record<string, string>): Promise<Loot> {
  const out = join(scratch, `loot-${Math.random().toString(36).slice(2)}.json`);
  const result = await runExec(home, [...args, ...upstreams, '--', process.execPath, join(CLIENTS, 'parent-harvest.mjs')], { ...env, HARVEST_OUT: out });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as Loot;
}

/** What the kernel shows of exec and its ancestors, and the files that names: none of `needles`. */
function expectClean(loot: Loot, needles: string[]): void {
  const exec = loot.ancestors[0]!;
  expect(exec.cmdline.split('\0')).toContain('exec');
  // exec's command line is now `node cli exec -- COMMAND`: no option of the first image.
  expect(exec.cmdline.split('\0').slice(exec.cmdline.split('\0').indexOf('exec'))).toEqual(['exec', '--', process.execPath, join(CLIENTS, 'parent-harvest.mjs'), '']);
  const variables = exec.environ.split('\0').map((entry) => entry.split('=')[0]!);
  expect(variables.filter((name) => name.startsWith('AGENT_VAULT_'))).toEqual(['AGENT_VAULT_EXEC_HANDOFF']);
  // The one variable left names the session file, deleted before the command started.
  const handoff = exec.environ.split('\0').find((entry) => entry.startsWith('AGENT_VAULT_EXEC_HANDOFF='))!.split('=')[1]!;
  expect(existsSync(handoff)).toBe(false);
  expect(loot.fds.some((link) => link.includes('agent-vault-exec-'))).toBe(false);
  const seen = JSON.stringify({ ancestors: loot.ancestors, fds: loot.fds, files: loot.files });
  for (const needle of needles) expect(seen.includes(needle), `found ${needle}`).toBe(false);
  expect(seen.match(/avt_[A-Za-z0-9_-]{40,}/)?.[0], 'an agent token').toBeUndefined();
}

/**
 * What the memory read gives, stated as measured: with Yama absent or 0 the same user reads
 * exec's memory, and the token exec runs on is there (it must be: the broker opens grants with
 * it). Nothing in exec's /proc entries points at it any more; this is the limit the README states.
 */
function expectMemoryAsMeasured(loot: Loot, token: string): void {
  if (loot.mem.readable) {
    expect(loot.mem.bytes).toBeGreaterThan(1_000_000);
    expect(loot.mem.tokens).toContain(token);
  } else {
    expect(loot.mem.error).toMatch(/EPERM|EACCES|EIO/);
  }
  // The provider keys are not kept: none was requested in this run, so none was ever decrypted.
  expect(loot.mem.keys).toEqual([]);
}

describe('exec: what the command can read of exec itself', () => {
  it('a token in AGENT_VAULT_TOKEN: gone from exec’s environ and every ancestor’s', async () => {
    const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
    const { token } = await owner.createAgent('env-bot', { allow: ['openai-*'], ttl: '1h' });
    await owner.close();
    const loot = await harvest([], { HOME: home.home, AGENT_VAULT_TOKEN: token });
    expectClean(loot, [token, 'AGENT_VAULT_TOKEN=', ...Object.values(home.secrets)]);
    expectMemoryAsMeasured(loot, token);
  });

  it('a token file: its path is gone from exec’s environ, so the command is not pointed at it', async () => {
    const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
    const { token } = await owner.createAgent('file-bot', { allow: ['openai-*'], ttl: '1h' });
    await owner.close();
    const tokenFile = join(home.root, 'owner', 'bot.token');
    writeFileSync(tokenFile, `${token}\n`);
    chmodSync(tokenFile, 0o600);
    const loot = await harvest([], { HOME: home.home, AGENT_VAULT_TOKEN_FILE: tokenFile });
    expectClean(loot, [token, tokenFile, ...Object.values(home.secrets)]);
    // The limit, stated: the file itself is still readable by the same user who knows where to look.
    expect(readFileSync(tokenFile, 'utf8')).toContain(token);
  });

  it('owner mode: the passphrase file path and the temporary agent’s token are in no /proc entry', async () => {
    const loot = await harvest(['--allow', 'openai-*'], home.env);
    // `NAME=`, as environ holds it: the bare name is also in exec's own program text (its help),
    // which the harvester reads once the CLI entry is a small file that imports its chunks.
    expectClean(loot, [home.passphraseFile, home.passphrase, 'AGENT_VAULT_PASSPHRASE_FILE=', ...Object.values(home.secrets)]);
    // A token found in memory belongs to the temporary agent, revoked now that exec has returned.
    const owner = await openVault({ dir: join(home.home, '.agent-vault'), passphrase: home.passphrase });
    const agents = await owner.listAgents();
    await owner.close();
    expect(agents.filter((agent) => agent.id.startsWith('exec-')).every((agent) => agent.status === 'revoked')).toBe(true);
    if (loot.mem.readable) expect(loot.mem.tokens.length).toBeGreaterThan(0);
  });
});

describe('exec: its session-file variable', () => {
  it('set from outside, naming a file exec did not make: refused, and the file is left alone', async () => {
    const file = join(home.root, 'not-a-session.json');
    writeFileSync(file, '{}');
    const result = await runExec(home, ['--allow', 'openai-*', '--', 'true'], { ...home.env, AGENT_VAULT_EXEC_HANDOFF: file });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('AGENT_VAULT_EXEC_HANDOFF names a file exec did not make');
    expect(existsSync(file)).toBe(true);
  });
});
