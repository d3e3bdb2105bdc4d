/**
 * Server mode: authenticated resolutions per second, and their latency, through one `serve`
 * process (a child, so it has its own core) on SQLite and, when AGENT_VAULT_TEST_POSTGRES names
 * a server, on PostgreSQL. Each resolution is the whole path: the agent's auth, the server's
 * policy check and its audit record committed before the answer, the client's signature and
 * freshness checks, decryption. And the wrapped OpenAI client in server mode against the plain one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import PlainOpenAI from 'openai';
import pg from 'pg';
import { OpenAI } from '../adapters/openai.ts';
import { createVault, openVault, type Vault } from '../src/index.ts';
import { serveProcess } from '../test/_fixtures/serve-process.ts';
import { compare, quantile, type Stats } from './_measure.ts';
import { KEY, tempDir } from './_fixtures.ts';
import { startServer } from './_server.ts';

export interface Throughput {
  resolutionsPerSecond: number;
  /** CPU time the serve process spent per resolution (user + system): its cost on an idle core. */
  serverCpuUsPerResolution: number;
  p50Ms: number;
  p99Ms: number;
  concurrency: number;
  seconds: number;
}

const SECONDS = 4;
const CONCURRENCY = 32;
const AGENTS = 4;

async function freshPostgres(): Promise<string | undefined> {
  const base = process.env.AGENT_VAULT_TEST_POSTGRES;
  if (!base) return undefined;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const name = `av_bench_${Date.now().toString(36)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.href;
}

async function fleet(database: string) {
  const serve = await serveProcess(database, ['--rate', '1000000']);
  const dir = tempDir('server-bench');
  process.env.AGENT_VAULT_STATE_DIR = join(dir, 'state');
  const owner = await createVault({ server: serve.url, keyFile: join(dir, 'owner.key') });
  await owner.set('openai-api-key', KEY);
  const agents: Vault[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const { token } = await owner.createAgent(`bench-${i}`, { allow: ['openai-*'] });
    agents.push(await openVault({ server: serve.url, token }));
  }
  return { serve, owner, agents };
}

/** The CPU time (µs) a process has used so far, from /proc (Linux; 0 elsewhere). */
function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return 0;
  }
}

async function throughput(agents: Vault[], pid: number): Promise<Throughput> {
  const resolve = (agent: Vault) => agent.use('openai-api-key', (secret) => secret.length);
  for (let i = 0; i < 200; i++) await resolve(agents[i % agents.length]!); // warm-up
  const latencies: number[] = [];
  const cpuBefore = cpuMicros(pid);
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
    const agent = agents[worker % agents.length]!;
    while (performance.now() < end) {
      const started = performance.now();
      await resolve(agent);
      latencies.push(performance.now() - started);
    }
  }));
  const cpu = cpuMicros(pid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  return {
    resolutionsPerSecond: Math.round(latencies.length / SECONDS), serverCpuUsPerResolution: Math.round(cpu / latencies.length), p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99),
    concurrency: CONCURRENCY, seconds: SECONDS,
  };
}

export async function serverMode(): Promise<{ throughput: Record<string, Throughput>; sdk: Record<string, Stats> }> {
  const out: Record<string, Throughput> = {};
  const sqlite = await fleet(join(tempDir('server-bench-db'), 'vault.db'));
  out['SQLite (one serve process)'] = await throughput(sqlite.agents, sqlite.serve.child.pid!);
  const provider = await startServer();
  const baseURL = `${provider.url}/v1`;
  const plain = new PlainOpenAI({ apiKey: KEY, baseURL, maxRetries: 0 });
  const wrapped = new OpenAI({ vault: sqlite.agents[0]!, secret: 'openai-api-key', baseURL, maxRetries: 0 });
  const chat = (client: PlainOpenAI) => () => client.chat.completions.create({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] });
  const sdk = await compare({ 'plain OpenAI': chat(plain), 'agent-vault OpenAI, server mode (SQLite)': chat(wrapped) }, {
    rounds: 6, perRound: 300, concurrency: 1, warmup: 100,
  });
  await provider.close();
  await sqlite.serve.kill();
  const postgres = await freshPostgres();
  if (postgres) {
    const fleetPg = await fleet(postgres);
    out['PostgreSQL (one serve process)'] = await throughput(fleetPg.agents, fleetPg.serve.child.pid!);
    await fleetPg.serve.kill();
  }
  return { throughput: out, sdk };
}
