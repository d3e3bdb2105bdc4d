/**
 * The Node seed attack under exec: a harvester preloaded with `node --import` takes the
 * environment and /proc/self/environ at start-up and hooks every socket write on the prototypes,
 * so it sees each request as the SDK sends it. Against the in-process adapters that yields the
 * key on the wire; under exec it yields a phantom key, because the key is put in by the broker,
 * in another process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../_fixtures/index.ts';
import { CLIENTS, developerHome, type Home, providerProcess, type ProviderProcess, runExec } from './_exec.ts';

let provider: ProviderProcess;
let home: Home;
let scratch: string;

beforeAll(async () => {
  [provider, home] = await Promise.all([providerProcess(), developerHome()]);
  scratch = tempDir('agent-vault-node-harvest-');
});
afterAll(() => {
  provider?.stop();
});

describe('exec against a Node harvester that hooks socket writes', () => {
  it('the wire, the environment and /proc/self/environ hold phantom keys only; the provider got the real ones', async () => {
    const before = (await provider.received()).length;
    const out = join(scratch, 'loot.json');
    const result = await runExec(home, [
      '--allow', '*-api-key', '--upstream', `openai=${provider.origin}`, '--upstream', `anthropic=${provider.origin}`, '--',
      'sh', '-c', `"$0" --import "$1" "$2" && "$0" --import "$1" "$3"`,
      process.execPath, join(CLIENTS, 'node-harvest.mjs'), join(CLIENTS, 'openai-client.mjs'), join(CLIENTS, 'anthropic-client.mjs'),
    ], { ...home.env, HARVEST_OUT: out });
    expect(result.code, result.stderr).toBe(0);
    const loot = JSON.parse(readFileSync(out, 'utf8')) as { env: Record<string, string>; proc_environ: string; wire: string[] };
    const wire = loot.wire.join('');
    // The hook saw the requests (this is the anthropic run, the last to write the file) ...
    expect(wire).toContain('POST /anthropic/v1/messages');
    // (this SDK version sends its key as `authorization: Bearer`; the broker takes it from any SDK header)
    expect(wire).toContain(loot.env.ANTHROPIC_API_KEY);
    // ... and nothing in them, or in the environment, is a real key.
    const everything = readFileSync(out, 'latin1');
    for (const secret of [...Object.values(home.secrets), home.passphrase, 'avt_']) expect(everything).not.toContain(secret);
    const got = (await provider.received()).slice(before);
    expect(got.filter((r) => r.headers['x-api-key'] === home.secrets['anthropic-api-key'])).toHaveLength(2);
    expect(got.filter((r) => r.headers.authorization === `Bearer ${home.secrets['openai-api-key']}`)).toHaveLength(2);
  });
});
