/**
 * The broker for the benchmark, in a process of its own as under `agent-vault exec`: an agent
 * vault on the file backend with the file audit log (every request writes its records), the
 * openai route pointed at the benchmark server, and one phantom key, sent to the parent. The
 * parent can ask for the child's CPU time (`cpu()`), the broker's own price per request, which
 * other load on the machine sways far less than latency does.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { PhantomKeys, resolveRoutes, startBroker } from '../src/broker/index.ts';
import { copyToDirectory, fileAgent, memoryVault, tempDir } from './_fixtures.ts';

async function serve(upstream: string): Promise<void> {
  const { backend, token } = await memoryVault(10);
  const dir = join(tempDir('broker'), 'vault');
  await copyToDirectory(backend, dir);
  const vault = await fileAgent(dir, token, true);
  const keys = new PhantomKeys();
  const broker = await startBroker({ vault, keys, routes: resolveRoutes({ upstreams: [`openai=${upstream}`] }) });
  const { key } = keys.mint('bench', 'openai', 3_600_000);
  process.send!({ url: broker.url, key });
  process.on('message', (message) => {
    if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => void broker.close().then(() => process.exit(0)));
}

export interface BrokerProcess {
  url: string;
  key: string;
  /** The broker process's CPU time so far (user + system), microseconds. */
  cpu(): Promise<number>;
  close(): Promise<void>;
}

/** `execArgv`: extra Node flags for the child (`--cpu-prof` to profile the broker under load). */
export async function startBrokerProcess(upstream: string, execArgv: string[] = []): Promise<BrokerProcess> {
  const child = fork(import.meta.filename, ['--serve', upstream], { stdio: 'inherit', execArgv: [...process.execArgv, ...execArgv] });
  const reply = await new Promise<{ url: string; key: string }>((resolve, reject) => {
    child.once('message', (value) => resolve(value as { url: string; key: string }));
    child.once('exit', (code) => reject(new Error(`the benchmark broker exited (${code})`)));
  });
  return {
    ...reply,
    cpu: () => new Promise((resolve) => {
      child.once('message', (value) => {
        const { user, system } = (value as { cpu: NodeJS.CpuUsage }).cpu;
        resolve(user + system);
      });
      child.send('cpu');
    }),
    close: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.disconnect();
    }),
  };
}

if (process.argv.includes('--serve')) await serve(process.argv[process.argv.indexOf('--serve') + 1]!);
