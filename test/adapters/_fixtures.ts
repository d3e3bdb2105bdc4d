/** A throw-away vault with an agent, as the adapter tests use it. */
import { inspect } from 'node:util';
import { type Mock, vi } from 'vitest';
import { openVault, type Vault } from '../../src/index.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { fakeKey, testVault } from '../_fixtures/index.ts';

export interface AgentFixture {
  owner: Vault;
  /** The agent's vault (opened with its token): what an app passes to the clients. */
  vault: Vault;
  token: string;
  /**
   * One call per key resolution: of `vault.use` (the standard transport) or `vault._prepare`
   * (the hardened transport, the default on Node).
   */
  resolutions: Mock<(name: string) => void>;
}

/** An owner vault holding `secrets`, and an agent allowed `allow` (default: everything). */
export async function agentVault(secrets: Record<string, string>, allow = ['*']): Promise<AgentFixture> {
  const backend = memoryBackend();
  const owner = await testVault({ backend });
  for (const [name, value] of Object.entries(secrets)) await owner.set(name, value);
  const { token } = await owner.createAgent('test-agent', { allow, ttl: '1h' });
  const vault = await openVault({ backend, token });
  const resolutions = vi.fn<(name: string) => void>();
  for (const method of ['use', '_prepare'] as const) {
    const original = vault[method].bind(vault) as (name: string, ...rest: unknown[]) => unknown;
    Object.defineProperty(vault, method, {
      value: (name: string, ...rest: unknown[]) => {
        resolutions(name);
        return original(name, ...rest);
      },
    });
  }
  return { owner, vault, token, resolutions };
}

/** An agent vault holding one secret, `name`, with a fresh fake key; the key is returned too. */
export async function agentWithKey(name: string, allow = ['*']): Promise<AgentFixture & { key: string }> {
  const key = fakeKey();
  return { ...(await agentVault({ [name]: key }, allow)), key };
}

/**
 * Run `fn` with every console method captured (deeply inspected, so nested header objects are
 * searched too) and `env` set; returns the captured lines.
 */
export async function captureConsole(env: Record<string, string>, fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  const spies = (['log', 'debug', 'info', 'warn', 'error'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: Infinity }))).join(' '));
    }));
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  return lines;
}
