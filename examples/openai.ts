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
import { openVault } from 'agent-vault';
import { OpenAI } from 'agent-vault/openai';
import { throwawayVault } from './_throwaway-vault.ts';

const env = process.env;
const real = Boolean((env.AGENT_VAULT_TOKEN || env.AGENT_VAULT_TOKEN_FILE) && env.OPENAI_BASE_URL);
const local = real ? undefined : await throwawayVault('openai-api-key', 'sk-local-');

try {
  // The agent's side: it holds a vault token, never the API key.
  const vault = local?.agentVault ?? await openVault();
  const secret = env.OPENAI_SECRET ?? 'openai-api-key';
  const model = env.OPENAI_MODEL ?? 'gpt-4o-mini';

  // Before: const client = new OpenAI();   (the key in OPENAI_API_KEY for the process's life)
  const client = new OpenAI({ vault, secret, baseURL: local?.provider.openaiBaseURL });

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
