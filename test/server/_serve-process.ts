/** `serve` child processes for the fleet tests, killed after the test file whatever happens. */
import { afterAll } from 'vitest';
import { type ServeProcess, serveProcess as spawnServe } from '../_fixtures/serve-process.ts';

const running: ServeProcess[] = [];
afterAll(async () => {
  for (const serve of running.splice(0)) await serve.kill();
});

export async function serveProcess(database: string, args: string[] = []): Promise<ServeProcess> {
  const serve = await spawnServe(database, args);
  running.push(serve);
  return serve;
}
