/**
 * The seed case: a Python agent on the official openai package, run by `agent-vault exec`, and
 * the same agent with a compromised dependency whose `.pth` file harvests credentials at
 * interpreter start-up. The provider gets the real key; the Python process never holds it (its
 * environment, /proc/self/environ and memory are searched); nothing the harvester takes opens
 * a key, and the phantom key it took is dead once exec returns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../_fixtures/index.ts';
import { countAll, stringNeedles } from '../../exposure/_count.ts';
import { dumpMemory } from '../../exposure/_dump.ts';
import { openVault } from '../../src/index.ts';
import { CLIENTS, developerHome, type Home, providerProcess, type ProviderProcess, runExec, startExec } from './_exec.ts';
import { compromisedVenv, PYTHON, PYTHON_MISSING } from './_python.ts';

if (PYTHON_MISSING && process.env.CI === 'true') {
  describe('python (required in CI)', () => it('has the interpreter .ci/run makes', () => expect.fail(PYTHON_MISSING)));
}

describe.skipIf(PYTHON_MISSING !== undefined)('exec with the official Python openai package', () => {
  let provider: ProviderProcess;
  let home: Home;
  let args: string[];
  let scratch: string;

  beforeAll(async () => {
    [provider, home] = await Promise.all([providerProcess(), developerHome()]);
    args = ['--allow', 'openai-*', '--upstream', `openai=${provider.origin}`, '--'];
    scratch = tempDir('agent-vault-py-');
  });
  afterAll(() => {
    provider?.stop();
  });

  it('a completion and a stream; the provider gets the key, the Python process holds no copy of it', async () => {
    const before = (await provider.received()).length;
    const execution = startExec(home, [...args, PYTHON!, join(CLIENTS, 'python_client.py')], { ...home.env, HOLD: '1' });
    const reply = JSON.parse(await execution.line()) as { text: string; stream: string[]; pid: number };
    expect(reply).toMatchObject({ text: 'Hello from the provider', stream: ['Hello', ' from', ' the', ' provider'] });
    // The client is still running, after two requests: its memory, whole.
    const regions = await dumpMemory(reply.pid, 'proc', scratch);
    const environ = readFileSync(`/proc/${reply.pid}/environ`, 'latin1');
    execution.child.stdin!.end();
    expect((await execution.done).code).toBe(0);
    const key = home.secrets['openai-api-key']!;
    const [ascii, utf16] = countAll(regions, stringNeedles('provider key', key));
    expect(regions.reduce((sum, region) => sum + region.length, 0)).toBeGreaterThan(1_000_000);
    expect({ ascii, utf16 }).toEqual({ ascii: { full: 0, partial: 0 }, utf16: { full: 0, partial: 0 } });
    expect(environ).not.toContain(key);
    expect(environ).toMatch(/OPENAI_API_KEY=avp_/);
    const got = (await provider.received()).slice(before);
    expect(got.map((r) => r.headers.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`]);
  });

  it('control: the same search finds the key in the same client run the usual way (key in its environment)', async () => {
    const { spawn } = await import('node:child_process');
    const { createInterface } = await import('node:readline');
    const key = home.secrets['openai-api-key']!;
    const child = spawn(PYTHON!, [join(CLIENTS, 'python_client.py')], {
      env: { PATH: process.env.PATH, HOLD: '1', OPENAI_API_KEY: key, OPENAI_BASE_URL: `${provider.origin}/v1` },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const regions = await dumpMemory((JSON.parse(line) as { pid: number }).pid, 'proc', scratch);
    child.stdin.end();
    const [ascii] = countAll(regions, stringNeedles('provider key', key));
    expect(ascii!.full).toBeGreaterThan(0);
  });

  it('the .pth harvester: what it takes opens no key, and its phantom key dies with the session', async () => {
    const python = compromisedVenv(join(scratch, 'venv'));
    const out = join(scratch, 'loot.json');
    const result = await runExec(home, [...args, python, join(CLIENTS, 'python_client.py')],
      { ...home.env, HARVEST_OUT: out, PROVIDER_ORIGIN: provider.origin });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).text).toBe('Hello from the provider'); // the agent still works
    const loot = JSON.parse(readFileSync(out, 'utf8')) as {
      env: Record<string, string>; proc_environ: string; files: Record<string, string>; vault_copy?: string;
      tried: { name: string; value: string; base: string; status: number | string }[];
    };
    // It did its job: the environment, the decoy credentials, the vault directory.
    expect(loot.env.OPENAI_API_KEY).toMatch(/^avp_/);
    expect(Object.keys(loot.files).some((path) => path.endsWith('.aws/credentials'))).toBe(true);
    expect(loot.vault_copy).toBeDefined();
    const text = readFileSync(out, 'latin1');
    for (const secret of [...Object.values(home.secrets), home.passphrase, 'avt_']) expect(text).not.toContain(secret);

    // Tried as an attacker would: every token-shaped string and every value as a passphrase, on the copy.
    const candidates = new Set([...Object.values(loot.env), ...Object.values(loot.files).flatMap((file) => file.split(/\s+/))]);
    for (const candidate of [...candidates].filter((value) => value.length > 0).slice(0, 200)) {
      const attempt = candidate.startsWith('avt_')
        ? openVault({ dir: loot.vault_copy!, token: candidate, audit: false })
        : openVault({ dir: loot.vault_copy!, passphrase: candidate, audit: false });
      await expect(attempt).rejects.toMatchObject({ code: expect.stringMatching(/ACCESS_DENIED|USAGE|INTEGRITY/) });
    }

    // During the session the phantom key worked through the broker (it is the agent's access,
    // audited under the session's key name) and nowhere else: the provider does not know it.
    const tries = loot.tried.filter((entry) => entry.name === 'OPENAI_API_KEY');
    expect(tries.find((entry) => entry.base === loot.env.OPENAI_BASE_URL)?.status).toBe(200);
    const received = await provider.received();
    expect(received.filter((r) => r.headers.authorization === `Bearer ${loot.env.OPENAI_API_KEY}`)).toHaveLength(1); // the direct try
    expect(received.filter((r) => r.headers.authorization?.includes('avp_') && r.headers.authorization !== `Bearer ${loot.env.OPENAI_API_KEY}`)).toHaveLength(0);
    const audit = readFileSync(join(home.home, '.agent-vault', 'audit.jsonl'), 'utf8');
    expect(audit).toMatch(/"action":"broker.request".*GET \/openai\/v1\/models status=200/);

    // After exec: the phantom key is dead.
    await expect(fetch(`${loot.env.OPENAI_BASE_URL}/models`, { headers: { authorization: `Bearer ${loot.env.OPENAI_API_KEY}` } })).rejects.toThrow();
  });
});
