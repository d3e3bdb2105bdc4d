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
import { openVault } from 'agent-vault';
import { Anthropic } from 'agent-vault/anthropic';
import { throwawayVault } from './_throwaway-vault.ts';

const env = process.env;
const real = Boolean((env.AGENT_VAULT_TOKEN || env.AGENT_VAULT_TOKEN_FILE) && env.ANTHROPIC_BASE_URL);
const local = real ? undefined : await throwawayVault('anthropic-api-key', 'sk-ant-local-');

try {
  // The agent's side: it holds a vault token, never the API key.
  const vault = local?.agentVault ?? await openVault();
  const secret = env.ANTHROPIC_SECRET ?? 'anthropic-api-key';
  const model = env.ANTHROPIC_MODEL ?? 'claude-haiku-4-5';

  // Before: const client = new Anthropic();   (the key in ANTHROPIC_API_KEY for the process's life)
  const client = new Anthropic({ vault, secret, baseURL: local?.provider.origin });

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
