/**
 * The OpenAI client with its key in the vault: a one-line change from `new OpenAI()`.
 *
 *   npm run example:openai
 *
 * With an agent token (AGENT_VAULT_TOKEN or AGENT_VAULT_TOKEN_FILE) and OPENAI_BASE_URL set, it
 * calls that provider with the agent's secret `openai-api-key` (OPENAI_SECRET, OPENAI_MODEL
 * override the name and the model). Otherwise it makes a throw-away vault in a temporary
 * directory and talks to a local stand-in provider, then shows a revoked agent being refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVault, openVault, type Vault } from 'agent-vault';
import { OpenAI } from 'agent-vault/openai';
import { startLocalProvider } from './_local-provider.ts';

const env = process.env;
const real = Boolean((env.AGENT_VAULT_TOKEN || env.AGENT_VAULT_TOKEN_FILE) && env.OPENAI_BASE_URL);
const local = real ? undefined : await localSetup();

try {
  // The agent's side: it holds a vault token, never the API key.
  const vault = local?.agentVault ?? await openVault();
  const secret = env.OPENAI_SECRET ?? 'openai-api-key';
  const model = env.OPENAI_MODEL ?? 'gpt-4o-mini';

  // Before: const client = new OpenAI();   (the key in OPENAI_API_KEY for the process's life)
  const client = new OpenAI({ vault, secret, baseURL: local?.baseURL });

  console.log(`client.apiKey: ${client.apiKey}`);
  const completion = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Say hello in six words.' }],
  });
  console.log(`reply: ${completion.choices[0]?.message.content}`);

  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Say hello in six words.' }],
    stream: true,
  });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
  console.log(`streamed: ${streamed}`);

  if (local) {
    // The owner revokes the agent: its very next request is refused before anything is sent.
    await local.owner.revokeAgent('example-agent');
    const requestsBefore = local.provider.stats.requests;
    try {
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Still there?' }] });
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
  const apiKey = `sk-local-${randomBytes(16).toString('hex')}`;
  // The owner's side, once: `agent-vault init`, `set`, `agent create` do the same from the CLI.
  const owner: Vault = await createVault({ dir, passphrase: 'example only', passphraseParams: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
  await owner.set('openai-api-key', apiKey);
  const { token } = await owner.createAgent('example-agent', { allow: ['openai-*'], ttl: '1h' });
  const provider = await startLocalProvider({ apiKey });
  const agentVault = await openVault({ dir, token });
  console.log(`local mode: a throw-away vault in ${dir} and a stand-in provider at ${provider.openaiBaseURL}`);
  return {
    owner,
    agentVault,
    provider,
    baseURL: provider.openaiBaseURL,
    async cleanUp() {
      await owner.close();
      await provider.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
