/**
 * The Anthropic client with its key in the vault: a one-line change from `new Anthropic()`.
 *
 *   npm run example:anthropic
 *
 * With an agent token (AGENT_VAULT_TOKEN or AGENT_VAULT_TOKEN_FILE) and ANTHROPIC_BASE_URL set,
 * it calls that provider with the agent's secret `anthropic-api-key` (ANTHROPIC_SECRET,
 * ANTHROPIC_MODEL override the name and the model). Otherwise it makes a throw-away vault in a
 * temporary directory and talks to a local stand-in provider, then shows a revoked agent being
 * refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVault, openVault, type Vault } from 'agent-vault';
import { Anthropic } from 'agent-vault/anthropic';
import { startLocalProvider } from './_local-provider.ts';

const env = process.env;
const real = Boolean((env.AGENT_VAULT_TOKEN || env.AGENT_VAULT_TOKEN_FILE) && env.ANTHROPIC_BASE_URL);
const local = real ? undefined : await localSetup();

try {
  // The agent's side: it holds a vault token, never the API key.
  const vault = local?.agentVault ?? await openVault();
  const secret = env.ANTHROPIC_SECRET ?? 'anthropic-api-key';
  const model = env.ANTHROPIC_MODEL ?? 'claude-haiku-4-5';

  // Before: const client = new Anthropic();   (the key in ANTHROPIC_API_KEY for the process's life)
  const client = new Anthropic({ vault, secret, baseURL: local?.baseURL });

  console.log(`client.apiKey: ${client.apiKey}`);
  const message = await client.messages.create({
    model,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Say hello in six words.' }],
  });
  console.log(`reply: ${message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')}`);

  let streamed = '';
  const stream = client.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Say hello in six words.' }] });
  stream.on('text', (text) => (streamed += text));
  await stream.finalMessage();
  console.log(`streamed: ${streamed}`);

  if (local) {
    // The owner revokes the agent: its very next request is refused before anything is sent.
    await local.owner.revokeAgent('example-agent');
    const requestsBefore = local.provider.stats.requests;
    try {
      await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Still there?' }] });
    } catch (error) {
      const { code, name } = error as { code?: string; name?: string };
      console.log(`after revoke: ${code} (${name}); requests sent: ${local.provider.stats.requests - requestsBefore}`);
    }
  }
  await vault.close();
} finally {
  await local?.cleanUp();
}

/** A vault in a temporary directory holding a made-up key, an agent, and a stand-in provider. */
async function localSetup() {
  const dir = await mkdtemp(join(tmpdir(), 'agent-vault-example-'));
  const apiKey = `sk-ant-local-${randomBytes(16).toString('hex')}`;
  // The owner's side, once: `agent-vault init`, `set`, `agent create` do the same from the CLI.
  const owner: Vault = await createVault({ dir, passphrase: 'example only', passphraseParams: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
  await owner.set('anthropic-api-key', apiKey);
  const { token } = await owner.createAgent('example-agent', { allow: ['anthropic-*'], ttl: '1h' });
  const provider = await startLocalProvider({ apiKey });
  const agentVault = await openVault({ dir, token });
  console.log(`local mode: a throw-away vault in ${dir} and a stand-in provider at ${provider.origin}`);
  return {
    owner,
    agentVault,
    provider,
    baseURL: provider.origin,
    async cleanUp() {
      await owner.close();
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
