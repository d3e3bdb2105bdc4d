/**
 * The shared test fixtures: the cheap-KDF vault factory, self-removing temp dirs, the loopback
 * servers, `collect`, fake keys and waiting for child processes. For vitest files; plain-node scripts (benches, workers)
 * import `vault.ts` or `keys.ts` directly, since `temp.ts` needs the vitest runner.
 */
export { collect } from './collect.ts';
export { fakeKey } from './keys.ts';
export {
  type Certificate, echo, type Handler, type Received, selfSigned, servePerTest, type ServerOptions, startServer, type TestServer,
} from './servers.ts';
export { exited, printed } from './processes.ts';
export { settle } from './settle.ts';
export { tempDir } from './temp.ts';
export { FAST_KDF, testVault } from './vault.ts';
