/**
 * Provider keys left in an agent's environment. An agent that opens the vault with a token but
 * still has OPENAI_API_KEY set has gained nothing against a harvester: the key is exactly where
 * it looks first. Warned once per process, by variable name (never a value).
 */

/** Variables the common SDKs read their keys from; `agent-vault doctor` checks the same list. */
export const PROVIDER_KEY_VARIABLES = [
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'AZURE_OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'MISTRAL_API_KEY',
  'GROQ_API_KEY', 'COHERE_API_KEY', 'XAI_API_KEY', 'DEEPSEEK_API_KEY', 'TOGETHER_API_KEY', 'OPENROUTER_API_KEY',
  'HF_TOKEN', 'HUGGINGFACE_API_KEY', 'REPLICATE_API_TOKEN', 'PERPLEXITY_API_KEY', 'AWS_SECRET_ACCESS_KEY',
  'GITHUB_TOKEN', 'NPM_TOKEN',
] as const;

/** The provider key variables set (non-empty) in `env`. */
export function providerKeysIn(env: Record<string, string | undefined>): string[] {
  return PROVIDER_KEY_VARIABLES.filter((name) => Boolean(env[name]?.trim()));
}

let warned = false;

export function warnOfProviderKeys(env: Record<string, string | undefined>): void {
  const found = providerKeysIn(env);
  if (warned || found.length === 0) return;
  warned = true;
  const emit = globalThis.process?.emitWarning;
  if (typeof emit !== 'function') return;
  emit.call(
    globalThis.process,
    `${found.join(', ')} ${found.length === 1 ? 'is' : 'are'} still set in this agent's environment: the vault ` +
      'protects nothing while the key also sits there. Remove it from the environment (and from .env files) once it ' +
      'is in the vault (`agent-vault set NAME`).',
    { type: 'AgentVaultWarning', code: 'AGENT_VAULT_KEY_IN_ENV' },
  );
}
