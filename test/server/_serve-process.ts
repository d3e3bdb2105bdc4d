/** `agent-vault serve` as a real child process (the built CLI), for fleet and crash tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll } from 'vitest';
import { CLI_ENTRY } from '../cli/_cli.ts';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

export function serveProcess(database: string, args: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve', '--database', database, '--port', '0', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const url = /"url": "([^"]+)"/.exec(stdout)?.[1];
      if (url) {
        resolve({
          url, child,
          kill: () => new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGKILL');
          }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`serve did not start listening within 20 s: ${stderr}`)), 20_000).unref();
  });
}
