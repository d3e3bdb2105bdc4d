/**
 * Provider keys left in an agent's environment. An agent that opens the vault with a token but
 * still has OPENAI_API_KEY set has gained nothing against a harvester: the key is exactly where
 * it looks first. Recognised as `agent-vault scan` recognises them (`scan/detect.ts`); warned
 * once per process, by variable name, never a value.
 */
import { detect } from './scan/detect.ts';

/** The variables of `env` that hold a provider key (our own token variable aside). */
export function providerKeysIn(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value !== undefined && name !== 'AGENT_VAULT_TOKEN' && detect(name, value) !== undefined)
    .map(([name]) => name)
    .sort();
}

let warned = false;

export function warnOfProviderKeys(env: Record<string, string | undefined>): void {
  if (warned) return;
  const found = providerKeysIn(env);
  if (found.length === 0) return;
  warned = true;
  const emit = globalThis.process?.emitWarning;
  if (typeof emit !== 'function') return;
  emit.call(
    globalThis.process,
    `${found.join(', ')} ${found.length === 1 ? 'is' : 'are'} still set in this agent's environment: the vault ` +
      'protects nothing while the key also sits there. Remove it from the environment (and from .env files) once it ' +
      'is in the vault (`agent-vault import` moves them).',
    { type: 'AgentVaultWarning', code: 'AGENT_VAULT_KEY_IN_ENV' },
  );
}
