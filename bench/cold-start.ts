/**
 * Cold start: fresh processes against the built package, interleaved, each case beside the
 * baseline it is compared with in the same rounds.
 *
 * - The library: process start → first key ready, against the plain SDK's start (import,
 *   construct with the key from the environment). The agent reads its token from a file, as
 *   recommended; with the file audit sink (the default) and without it.
 * - The CLI: `agent-vault --version`, start → exit, against Node running an empty script.
 *
 * Each process reports its own clock (`performance.now()`, ms since it started) and its CPU time
 * (`process.cpuUsage()`, every thread: V8's background compilers included). On a shared machine
 * the CPU time moves less than the wall time; both are medians over the rounds.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVault } from '../src/index.ts';
import { fileAuditSink } from '../src/audit/file.ts';
import { copyToDirectory, KEY, memoryVault, tempDir } from './_fixtures.ts';

/** What every measured process prints last: its clock and its CPU time, in ms. */
const REPORT = 'const u = process.cpuUsage(); console.log(performance.now(), (u.user + u.system) / 1000);';

const PLAIN = `
import OpenAI from 'openai';
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });
if (!client.apiKey) throw new Error('no key');
${REPORT}`;

const vaultScript = (audit: boolean) => `
import { openVault } from 'agent-vault';
import { OpenAI } from 'agent-vault/openai';
${audit ? "import { fileAuditSink } from 'agent-vault/audit-file';" : ''}
const vault = await openVault({ audit: ${audit ? 'fileAuditSink({ dir: process.env.COLD_AUDIT_DIR })' : 'false'} });
const client = new OpenAI({ vault, secret: 'openai-api-key' });
await vault.use('openai-api-key', (secret) => { if (secret.length === 0) throw new Error('empty'); });
if (!(client instanceof OpenAI)) throw new Error('not a client');
${REPORT}`;

/** Preloaded into the CLI runs, whose stdout is the CLI's own: report on stderr at exit. */
const AT_EXIT = `process.on('exit', () => {
  const u = process.cpuUsage();
  process.stderr.write('\\n' + performance.now() + ' ' + (u.user + u.system) / 1000 + '\\n');
});`;

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface ColdStartCase {
  wallMs: Spread;
  cpuMs: Spread;
}

export interface ColdStartGroup {
  /** The case the others are compared with. */
  baseline: string;
  cases: Record<string, ColdStartCase>;
}

export interface ColdStartResult {
  groups: Record<string, ColdStartGroup>;
  /** Median wall time agent-vault (no audit) adds to the plain OpenAI SDK's start. */
  addedMs: number;
}

interface Runner {
  argv: string[];
  /** Where the clock and CPU line is: the last line of stdout, or of stderr (the CLI). */
  from: 'stdout' | 'stderr';
}

export async function coldStart(runs = 15): Promise<ColdStartResult> {
  const root = tempDir('cold-start');
  const { backend, owner, token } = await memoryVault(10);
  const dir = join(root, 'vault');
  await copyToDirectory(backend, dir);
  await owner.close();
  const tokenFile = join(root, 'agent.token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const auditDir = join(root, 'audit');
  mkdirSync(auditDir, { mode: 0o700 });
  // Only the owner starts a log: its vault.open is the first record, as in any real vault.
  await (await openVault({ dir, passphrase: 'bench', audit: fileAuditSink({ dir: auditDir }) })).close();
  // The scripts live inside the repository so that 'agent-vault' resolves to this package.
  const script = (name: string, text: string) => {
    const path = join(import.meta.dirname, `.cold-${name}.mjs`);
    writeFileSync(path, text);
    return path;
  };
  const atExit = script('at-exit', AT_EXIT);
  const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'index.js');
  const groups: Record<string, { baseline: string; runners: Record<string, Runner> }> = {
    'library: process start → first key ready': {
      baseline: 'plain OpenAI SDK',
      runners: {
        'plain OpenAI SDK': { argv: [script('plain', PLAIN)], from: 'stdout' },
        'agent-vault, no audit': { argv: [script('vault', vaultScript(false))], from: 'stdout' },
        'agent-vault, file audit': { argv: [script('vault-audit', vaultScript(true))], from: 'stdout' },
      },
    },
    'CLI: process start → exit': {
      baseline: 'node, empty script',
      runners: {
        'node, empty script': { argv: ['--import', atExit, script('empty', '')], from: 'stderr' },
        'agent-vault --version': { argv: ['--import', atExit, cli, '--version'], from: 'stderr' },
      },
    },
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env, OPENAI_API_KEY: KEY, AGENT_VAULT_TOKEN_FILE: tokenFile, AGENT_VAULT_DIR: dir, COLD_AUDIT_DIR: auditDir,
  };
  delete env.AGENT_VAULT_TOKEN;
  delete env.NODE_COMPILE_CACHE; // every run compiles from scratch, as a first start does
  const samples = new Map<Runner, { wall: number[]; cpu: number[] }>();
  for (let run = 0; run < runs; run++) {
    for (const group of Object.values(groups)) {
      for (const runner of Object.values(group.runners)) {
        const child = spawnSync(process.execPath, runner.argv, { env, encoding: 'utf8' });
        if (child.status !== 0) throw new Error(`cold start: ${runner.argv.join(' ')} exited ${child.status}: ${child.stderr}`);
        const line = child[runner.from].trim().split('\n').at(-1)!.split(' ');
        const sample = samples.get(runner) ?? { wall: [], cpu: [] };
        sample.wall.push(Number(line[0]));
        sample.cpu.push(Number(line[1]));
        samples.set(runner, sample);
      }
    }
  }
  const result: Record<string, ColdStartGroup> = {};
  for (const [title, group] of Object.entries(groups)) {
    result[title] = {
      baseline: group.baseline,
      cases: Object.fromEntries(Object.entries(group.runners).map(([name, runner]) => {
        const { wall, cpu } = samples.get(runner)!;
        return [name, { wallMs: spread(wall), cpuMs: spread(cpu) }];
      })),
    };
  }
  const library = result['library: process start → first key ready']!.cases;
  return { groups: result, addedMs: library['agent-vault, no audit']!.wallMs.median - library['plain OpenAI SDK']!.wallMs.median };
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
}
