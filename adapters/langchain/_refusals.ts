/**
 * What the LangChain adapters share. The model is given the vault fetch in its SDK client's
 * options, which answers a refusal with a synthetic 403: the SDK does not retry it, and neither
 * does LangChain's AsyncCaller (it never retries a 403, so a refusal does not wait out six
 * backoffs). Each model's caller is then wrapped so that the call rejects with the VaultError
 * itself instead of the SDK's PermissionDeniedError.
 */
import type { AsyncCaller } from '@langchain/core/utils/async_caller';
import { UsageError } from '../../src/errors.ts';
import { takeRefusal } from '../transport/index.ts';

/** Make every call through `caller` reject with the VaultError where the vault refused. */
export function surfaceRefusals(caller: AsyncCaller): void {
  for (const method of ['call', 'callWithOptions'] as const) {
    const original = caller[method].bind(caller) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(caller, method, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => original(...args).catch((error: unknown) => {
        throw takeRefusal((error as { headers?: unknown } | null)?.headers) ?? error;
      }),
    });
  }
}

/** A UsageError for a key option given beside `{ vault, secret }`. */
export function refuseKeyOption(fields: object, names: string[], className: string): void {
  const given = names.find((name) => (fields as Record<string, unknown>)[name] != null);
  if (given) {
    throw new UsageError(
      `Pass no ${given} to the agent-vault ${className}: it resolves the key from the vault for each request. ` +
        `Store the key with \`agent-vault set <name>\` and pass { vault, secret: '<name>' }.`,
    );
  }
}
