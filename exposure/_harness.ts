/**
 * The exposure harness: run an agent process per mode and protocol, dump its memory at set
 * moments around a request, and count the copies of the provider key, the agent token and the
 * agent key found there. `npm run exposure` prints the table; the exposure tests assert on it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVault } from '../src/index.ts';
import { parseToken } from '../src/token.ts';
import type { Command, Mode, Reply } from './_agent.ts';
import { bytesNeedle, type Copies, countAll, countCopies, type Needle, stringNeedles } from './_count.ts';
import { type DumpMethod, dumpMemory } from './_dump.ts';
import { type BrokerProcess, startBrokerProcess } from './_broker.ts';
import { type Provider, startProvider } from './_provider.ts';
import { type SelfSigned, selfSignedCertificate } from './_tls.ts';

export type { Mode } from './_agent.ts';
export type Protocol = 'http' | 'https';

/** When memory is dumped, in order. */
export const MOMENTS = ['in flight', 'after', '1 s work', '5 s work', '5 s idle'] as const;
export type Moment = (typeof MOMENTS)[number];
/** When heap snapshots are taken (after a forced GC): only reachable copies show there. */
export const HEAP_MOMENTS = ['in flight', 'after'] as const;
export type HeapMoment = (typeof HEAP_MOMENTS)[number];

export interface ExposureOptions {
  modes?: Mode[];
  protocols?: Protocol[];
  /** How memory is dumped; `none` takes heap snapshots only. Default `proc`. */
  dump?: DumpMethod | 'none';
  /** Memory-dump moments to take (the timeline stops after the last). Default: all. */
  moments?: readonly Moment[];
  /** Take the heap snapshots (after the memory dumps). Default true. */
  heap?: boolean;
  /** Runs at once. Default 3. */
  concurrency?: number;
  /** Lengths of the provider key, in characters, each measured in every mode and protocol. Default [51]. */
  keyLengths?: readonly number[];
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Copies of one secret, by encoding. */
export interface SecretCopies {
  ascii: Copies;
  utf16: Copies;
}

export interface DumpCounts {
  key: SecretCopies;
  /** Absent in env mode (no vault, no token). */
  token?: SecretCopies;
  agentKey?: Copies;
}

export interface RunResult {
  keyLength: number;
  mode: Mode;
  protocol: Protocol;
  dump: DumpMethod | 'none';
  memory: Partial<Record<Moment, DumpCounts>>;
  /** Broker mode: the same dumps of the broker process (which holds the token and resolves the key). */
  brokerMemory?: Partial<Record<Moment, DumpCounts>>;
  /** Reachable copies of the key (strings) in a heap snapshot; empty with `heap: false`. */
  heap: Partial<Record<HeapMoment, Copies>>;
  /** Every request reached the server with the real key. */
  keyDelivered: boolean;
  seconds: number;
}

export interface ExposureReport {
  node: string;
  platform: string;
  keyLengths: readonly number[];
  date: string;
  runs: RunResult[];
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Key lengths of real providers: 16 (the hardened minimum), 32 (Azure OpenAI), 39 (Google), 51 (legacy OpenAI), 108 (Anthropic), 164 (OpenAI project keys). */
export const KEY_LENGTHS = [16, 32, 39, 51, 108, 164] as const;

/** A random key of `length` characters (`sk-` and letters and digits), so every copy found is one of ours. */
function fakeKey(length: number): string {
  return 'sk-' + Array.from(randomBytes(length - 3), (byte) => ALPHANUMERIC[byte % 62]).join('');
}

export async function measureExposure(options: ExposureOptions = {}): Promise<ExposureReport> {
  const modes = options.modes ?? ['env', 'standard', 'hardened', 'broker'];
  const protocols = options.protocols ?? ['http', 'https'];
  const keyLengths = options.keyLengths ?? [51];
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'agent-vault-exposure-'));
  try {
    const tls = protocols.includes('https') ? selfSignedCertificate(dir) : undefined;
    // One vault, one agent, one secret per key length.
    const keys = new Map(keyLengths.map((length) => [length, fakeKey(length)]));
    const vaultDir = join(dir, 'vault');
    const owner = await createVault({ dir: vaultDir, keyFile: join(dir, 'owner.key') });
    for (const [length, key] of keys) await owner.set(secretName(length), key);
    const { token } = await owner.createAgent('exposure-agent', { allow: ['openai-*'], ttl: '1h' });
    await owner.close();
    const tokenFile = join(dir, 'agent.token');
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const credentials = { token: stringNeedles('agent token', token, 4), agentKey: bytesNeedle('agent key', parseToken(token).agentKey) };
    const jobs = keyLengths.flatMap((keyLength) => protocols.flatMap((protocol) => modes.map((mode) => ({ keyLength, mode, protocol }))));
    const order = (run: { keyLength: number; mode: Mode; protocol: Protocol }) =>
      jobs.findIndex((job) => job.keyLength === run.keyLength && job.mode === run.mode && job.protocol === run.protocol);
    const runs: RunResult[] = [];
    const queue = [...jobs];
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const name = `${job.keyLength}-character key, ${job.mode} over ${job.protocol}`;
        log(`${name}: running`);
        try {
          const key = keys.get(job.keyLength)!;
          const needles = { key: stringNeedles('provider key', key), ...credentials };
          const result = await measureRun({ ...job, key, tls, dir, vaultDir, tokenFile, needles, options });
          log(`${name}: done in ${result.seconds.toFixed(1)} s`);
          runs.push(result);
        } catch (error) {
          queue.length = 0; // start nothing more; the runs under way finish before cleaning up
          throw error;
        }
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: options.concurrency ?? 3 }, worker));
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    runs.sort((a, b) => order(a) - order(b));
    return { node: process.version, platform: `${process.platform}-${process.arch}`, keyLengths, date: new Date().toISOString(), runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The vault secret holding the key of this length. */
function secretName(length: number): string {
  return `openai-api-key-${length}`;
}

interface RunContext {
  keyLength: number;
  mode: Mode;
  protocol: Protocol;
  key: string;
  tls: SelfSigned | undefined;
  dir: string;
  vaultDir: string;
  tokenFile: string;
  needles: { key: Needle[]; token: Needle[]; agentKey: Needle };
  options: ExposureOptions;
}

async function measureRun(context: RunContext): Promise<RunResult> {
  const { mode, protocol, key, tls, needles, options } = context;
  const started = performance.now();
  const dump = options.dump ?? 'proc';
  const moments = options.moments ?? MOMENTS;
  const provider = await startProvider(protocol === 'https' ? tls : undefined);
  const agent = await startAgent(context, provider).catch(async (error) => {
    await provider.close();
    throw error;
  });
  const memory: Partial<Record<Moment, DumpCounts>> = {};
  const brokerMemory: Partial<Record<Moment, DumpCounts>> = {};
  const count = async (pid: number): Promise<DumpCounts> => {
    const regions = await dumpMemory(pid, dump as DumpMethod, context.dir);
    const [keyAscii, keyUtf16, tokenAscii, tokenUtf16, agentKey] = countAll(regions, [...needles.key, ...needles.token, needles.agentKey]);
    return {
      key: { ascii: keyAscii!, utf16: keyUtf16! },
      ...(mode === 'env' ? {} : { token: { ascii: tokenAscii!, utf16: tokenUtf16! }, agentKey: agentKey! }),
    };
  };
  const take = async (moment: Moment) => {
    if (dump === 'none' || !moments.includes(moment)) return;
    memory[moment] = await count(agent.pid);
    if (agent.broker) brokerMemory[moment] = await count(agent.broker.pid);
  };
  try {
    const last = Math.max(...moments.map((moment) => MOMENTS.indexOf(moment)));
    // 1. A request held open by the server, then answered.
    let arrived = provider.holdNext();
    let reply = agent.send({ cmd: 'request' });
    await arrived;
    await take('in flight');
    provider.release();
    await reply;
    await take('after');
    // 2. Unrelated work: 1 s, then 4 s more.
    if (last >= 2) {
      await agent.send({ cmd: 'work', ms: 1000 });
      await take('1 s work');
    }
    if (last >= 3) {
      await agent.send({ cmd: 'work', ms: 4000 });
      await take('5 s work');
    }
    // 3. Another request, then 5 s idle (an agent waiting on its next model call).
    if (last >= 4) {
      await agent.send({ cmd: 'request' });
      await agent.send({ cmd: 'idle', ms: 5000 });
      await take('5 s idle');
    }
    // 4. Heap snapshots (last, since their forced GC changes what later dumps would see).
    let heap: Partial<Record<HeapMoment, Copies>> = {};
    if (options.heap !== false) {
      arrived = provider.holdNext();
      reply = agent.send({ cmd: 'request' });
      await arrived;
      const snapshotPath = () => join(context.dir, `heap-${context.keyLength}-${mode}-${protocol}-${Date.now()}.heapsnapshot`);
      heap = { 'in flight': await snapshot(agent, snapshotPath()) };
      provider.release();
      await reply;
      heap.after = await snapshot(agent, snapshotPath());
    }
    return {
      keyLength: context.keyLength,
      mode,
      protocol,
      dump,
      memory,
      ...(agent.broker ? { brokerMemory } : {}),
      heap,
      keyDelivered: provider.authorizations.length > 0 && provider.authorizations.every((value) => value === `Bearer ${key}`),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    agent.close();
    await provider.close();
  }

  async function snapshot(runner: AgentProcess, path: string): Promise<Copies> {
    await runner.send({ cmd: 'heap', path });
    try {
      return countCopies([readFileSync(path)], needles.key[0]!);
    } finally {
      rmSync(path, { force: true });
    }
  }
}

interface AgentProcess {
  pid: number;
  /** Broker mode: the broker's process. */
  broker?: BrokerProcess;
  send(command: DistributiveOmit<Command, 'id'>): Promise<void>;
  close(): void;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

async function startAgent(context: RunContext, provider: Provider): Promise<AgentProcess> {
  const { mode, key, tls, vaultDir, tokenFile, keyLength } = context;
  const broker = mode === 'broker'
    ? await startBrokerProcess({
      upstream: provider.baseURL, secret: secretName(keyLength), tokenFile, vaultDir, dir: context.dir, ...(tls ? { caPath: tls.certPath } : {}),
    })
    : undefined;
  // A clean environment: only what this mode's agent is given.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    EXPOSURE_MODE: mode,
    EXPOSURE_BASE_URL: provider.baseURL,
    EXPOSURE_SECRET: secretName(keyLength),
    ...(tls ? { NODE_EXTRA_CA_CERTS: tls.certPath } : {}),
    ...(mode === 'env' ? { OPENAI_API_KEY: key }
      : broker ? { OPENAI_BASE_URL: broker.baseURL, OPENAI_API_KEY: broker.key }
      : { AGENT_VAULT_TOKEN_FILE: tokenFile, AGENT_VAULT_DIR: vaultDir }),
  };
  const child: ChildProcess = fork(join(import.meta.dirname, '_agent.ts'), [], {
    env,
    execArgv: ['--expose-gc', '--no-warnings'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let next = 1;
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve();
    else waiter?.reject(new Error(`agent (${mode}): ${reply.error}`));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`agent (${mode}) exited with code ${code}`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve, reject });
  });
  return {
    pid: child.pid!,
    ...(broker ? { broker } : {}),
    send(command) {
      const id = next++;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ ...command, id });
      });
    },
    close() {
      child.kill('SIGKILL');
      broker?.close();
    },
  };
}
