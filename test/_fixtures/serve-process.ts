/**
 * `agent-vault serve` as a real child process (the built CLI). Plain module (no vitest), so the
 * benches use it too; test/server/_serve-process.ts kills leftovers after each test file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'index.js');

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

export function serveProcess(database: string, args: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--database', database, '--port', '0', '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const kill = () => new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const url = /"url": "([^"]+)"/.exec(stdout)?.[1];
      if (url) resolve({ url, child, kill });
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`serve did not start listening within 20 s: ${stderr}`)), 20_000).unref();
  });
}
