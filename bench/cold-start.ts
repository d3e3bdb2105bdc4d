/**
 * Cold start: from process start to the first key ready for a request, against the plain SDK's
 * start (import, construct with the key from the environment). Both run as fresh processes
 * against the built package, interleaved, and report `performance.now()` (ms since start).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyToDirectory, KEY, memoryVault, tempDir } from './_fixtures.ts';

const PLAIN = `
import OpenAI from 'openai';
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
if (!client.apiKey) throw new Error('no key');
console.log(performance.now());`;

const VAULT = `
import { openVault } from 'agent-vault';
import { OpenAI } from 'agent-vault/openai';
const vault = await openVault({ audit: false });
const client = new OpenAI({ vault, secret: 'openai-api-key' });
await vault.use('openai-api-key', (secret) => { if (secret.length === 0) throw new Error('empty'); });
console.log(performance.now(), client instanceof OpenAI);`;

export interface ColdStartResult {
  cases: Record<string, { median: number; min: number; max: number }>;
  addedMs: number;
}

export async function coldStart(runs = 15): Promise<ColdStartResult> {
  const root = tempDir('cold-start');
  const { backend, token } = await memoryVault(10);
  const dir = join(root, 'vault');
  await copyToDirectory(backend, dir);
  // The scripts live inside the repository so that 'agent-vault' resolves to this package.
  const scripts = { 'plain OpenAI SDK': join(import.meta.dirname, '.cold-plain.mjs'), 'agent-vault': join(import.meta.dirname, '.cold-vault.mjs') };
  writeFileSync(scripts['plain OpenAI SDK'], PLAIN);
  writeFileSync(scripts['agent-vault'], VAULT);
  const env = { ...process.env, OPENAI_API_KEY: KEY, AGENT_VAULT_TOKEN: token, AGENT_VAULT_DIR: dir };
  const times: Record<string, number[]> = { 'plain OpenAI SDK': [], 'agent-vault': [] };
  for (let run = 0; run < runs; run++) {
    for (const [name, script] of Object.entries(scripts)) {
      const out = execFileSync(process.execPath, [script], { env, encoding: 'utf8' });
      times[name]!.push(Number(out.trim().split(' ')[0]));
    }
  }
  const stat = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
  };
  const cases = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, stat(values)]));
  return { cases, addedMs: cases['agent-vault']!.median - cases['plain OpenAI SDK']!.median };
}
