/**
 * A broker over a throw-away file vault (cheap KDF, audit log on disk) with an agent and fake
 * provider keys, every built-in route pointed at one loopback provider.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Broker, PhantomKeys, resolveRoutes, startBroker, type BrokerOptions } from '../../src/broker/index.ts';
import { createVault, openVault, type Vault } from '../../src/index.ts';
import { FAST_KDF, fakeKey, tempDir } from '../_fixtures/index.ts';
import { type Provider, startProvider } from './_provider.ts';


export interface BrokerFixture {
  dir: string;
  owner: Vault;
  agent: Vault;
  provider: Provider;
  broker: Broker;
  keys: PhantomKeys;
  /** The real keys, by secret name. */
  secrets: Record<string, string>;
  /** The audit log as text (to search for values that must not be in it). */
  auditText(): string;
  close(): Promise<void>;
}

export async function brokerFixture(
  options: { allow?: string[]; now?: () => number; broker?: Partial<BrokerOptions> } = {},
): Promise<BrokerFixture> {
  const dir = tempDir('agent-vault-broker-');
  const owner = await createVault({ dir, passphrase: 'x', passphraseParams: FAST_KDF });
  const secrets = {
    'openai-api-key': fakeKey('sk-proj'),
    'anthropic-api-key': fakeKey('sk-ant'),
    'gemini-api-key': fakeKey('AIza'),
    'groq-api-key': fakeKey('gsk'),
  };
  for (const [name, value] of Object.entries(secrets)) await owner.set(name, value);
  const { token } = await owner.createAgent('broker-test', { allow: options.allow ?? ['*'], ttl: '1h' });
  const agent = await openVault({ dir, token });
  const provider = await startProvider();
  const keys = new PhantomKeys(options.now);
  const routes = resolveRoutes({ upstreams: ['openai', 'anthropic', 'gemini', 'groq', 'mistral'].map((name) => `${name}=${provider.origin}`) });
  const broker = await startBroker({ vault: agent, routes, keys, onError: () => undefined, ...options.broker });
  return {
    dir, owner, agent, provider, broker, keys, secrets,
    auditText: () => readFileSync(join(dir, 'audit.jsonl'), 'utf8'),
    async close() {
      await broker.close();
      await provider.close();
      await agent.close();
      await owner.close();
    },
  };
}

/** The `broker.request` records, oldest first, as the owner reads them. */
export async function brokerRecords(owner: Vault): Promise<{ outcome: string; reason?: string; note?: string; name?: string }[]> {
  const records = [];
  for await (const record of owner.readAudit({ action: 'broker.request' })) records.push(record);
  return records.reverse();
}
