/**
 * What `exec` and `broker` share: the routes (built in, a routes file, `--upstream` overrides),
 * the vault access a broker runs on, and the environment a child is given.
 */
import { readFile } from 'node:fs/promises';
// routes.ts itself, not the folder's index: importing that would load the broker's server (node:http) with every command.
import { resolveRoutes, type Route } from '../broker/routes.ts';
import { UsageError } from '../errors.ts';
import { compileAllow } from '../names.ts';
import { openVault, type Vault } from '../vault.ts';
import type { Context } from './_command.ts';
import type { OptionSpecs } from './_args.ts';
import type { Output } from './_output.ts';
import { locateVault } from './_unlock.ts';

export const ROUTE_OPTIONS: OptionSpecs = {
  upstream: {
    type: 'string', multiple: true, value: 'ROUTE=URL',
    description: 'Send ROUTE somewhere else, e.g. openai=http://127.0.0.1:8080 (plain http only this way).',
  },
  routes: {
    type: 'string', value: 'FILE',
    description: 'A JSON file of routes: {"routes": [{"name", "upstream", "secret", "header", "scheme"?}]}.',
  },
};

/** A routes or broker config file, as far as the routes go. */
export interface RoutesFile {
  routes?: unknown[];
  /** Accept plain http upstreams in this file (a sidecar, a test provider). Default false. */
  allowHttp?: boolean;
  [other: string]: unknown;
}

export async function readConfigFile(path: string | undefined): Promise<RoutesFile> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new UsageError(`Cannot read the file ${path} (${(cause as NodeJS.ErrnoException).code}). Check the path.`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as RoutesFile;
  } catch {
    throw new UsageError(`The file ${path} is not a JSON object; see \`agent-vault broker --help\` for its shape.`);
  }
}

export function routesFrom(file: RoutesFile, upstreams: string[] | undefined): Route[] {
  if (file.routes !== undefined && !Array.isArray(file.routes)) throw new UsageError('"routes" in the routes file must be a list.');
  return resolveRoutes({ custom: file.routes ?? [], upstreams: upstreams ?? [], allowHttp: file.allowHttp === true });
}

/** The vault a broker runs on, and the routes it may serve. */
export interface BrokerAccess {
  vault: Vault;
  /** The agent whose grants the broker uses (and whose name the audit records carry). */
  agentId: string;
  /** Of `routes`, the ones worth serving (owner mode: those whose secret is set and allowed). */
  served: Route[];
}

/** An agent token in this process's environment (read by openVault, never passed on). */
export function hasAgentToken(): boolean {
  return Boolean(process.env.AGENT_VAULT_TOKEN_FILE || process.env.AGENT_VAULT_TOKEN);
}

/**
 * Run `fn` with vault access for a long-running broker: the agent token from the environment
 * (`exec`, which may also make a temporary agent as the owner, prepares its own: _exec-session.ts).
 */
export async function withBrokerAccess<T>(
  context: Pick<Context, 'dir' | 'keyFile'>, routes: Route[], fn: (access: BrokerAccess) => Promise<T>,
): Promise<T> {
  const { dir } = locateVault(context);
  accessMode(undefined);
  const vault = await openVault({ dir });
  try {
    return await fn({ vault, agentId: vault.agentId!, served: routes });
  } finally {
    await vault.close();
  }
}

/** Which vault access a broker runs on: the agent token in the environment, or (given `allow`) the owner's temporary agent. */
export function accessMode(allow: string[] | undefined): 'token' | 'owner' {
  if (allow === undefined) {
    if (!hasAgentToken()) {
      throw new UsageError(
        'The broker needs vault access: an agent token (AGENT_VAULT_TOKEN_FILE or AGENT_VAULT_TOKEN), or, as the ' +
          "owner, --allow PATTERN for a temporary agent, e.g. --allow 'openai-*'.",
      );
    }
    return 'token';
  }
  if (hasAgentToken()) {
    throw new UsageError('--allow makes a temporary agent as the owner; with an agent token set, its own grants apply. Drop one of them.');
  }
  return 'owner';
}

/** Owner mode: of `routes`, those whose secret is set and matched by `allow` (at least one). */
export async function servedByOwner(owner: Vault, routes: Route[], allow: string[]): Promise<Route[]> {
  const allowed = compileAllow(allow);
  const names = new Set((await owner.list()).map((secret) => secret.name));
  const served = routes.filter((route) => names.has(route.secret) && allowed(route.secret));
  if (served.length === 0) {
    throw new UsageError(
      `No route's secret is both set and allowed by --allow (${routes.map((route) => route.secret).join(', ')}). ` +
        'Set one (`agent-vault set openai-api-key`) or widen --allow.',
    );
  }
  return served;
}

/** What a running broker reports (an audit record it could not write, a bug): a note on stderr, no value in it. */
export function brokerNotes(output: Output, command: string): (error: unknown) => void {
  return (error) => output.note(`agent-vault ${command}: ${error instanceof Error ? error.message : String(error)}`);
}

/** Provider key variables a child never inherits, beside every route's own and every AGENT_VAULT_*. */
const PROVIDER_KEY_VARIABLES = [
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'GOOGLE_API_KEY', 'GEMINI_API_KEY', 'GROQ_API_KEY',
  'MISTRAL_API_KEY', 'AZURE_OPENAI_API_KEY', 'COHERE_API_KEY', 'CO_API_KEY', 'TOGETHER_API_KEY', 'OPENROUTER_API_KEY',
  'XAI_API_KEY', 'DEEPSEEK_API_KEY', 'FIREWORKS_API_KEY', 'PERPLEXITY_API_KEY', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN',
];

/**
 * The child's environment: the parent's, without any vault variable or provider key, with each
 * served route's base-URL and key variables set to the broker and that route's phantom key.
 */
export function childEnvironment(
  parent: NodeJS.ProcessEnv, routes: readonly Route[], served: { route: Route; baseUrl: string; key: string }[],
): NodeJS.ProcessEnv {
  const env = scrubbedEnvironment(parent, routes);
  for (const { route, baseUrl, key } of served) {
    for (const name of route.env?.baseUrl ?? []) env[name] = baseUrl;
    for (const name of route.env?.apiKey ?? []) env[name] = key;
  }
  return env;
}

/** `parent` without any AGENT_VAULT_* variable, provider key, or route variable (what exec re-executes itself with). */
export function scrubbedEnvironment(parent: NodeJS.ProcessEnv, routes: readonly Route[]): NodeJS.ProcessEnv {
  const drop = new Set(PROVIDER_KEY_VARIABLES);
  for (const route of routes) for (const name of [...(route.env?.baseUrl ?? []), ...(route.env?.apiKey ?? [])]) drop.add(name);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (!name.startsWith('AGENT_VAULT_') && !drop.has(name)) env[name] = value;
  }
  return env;
}
