/**
 * The broker's routes: which path prefix goes to which provider, with which secret, in which
 * header, and which environment variables `exec` sets for that provider's official SDKs.
 *
 * The built-in list is written once (`BUILTIN_ROUTES`); user-defined routes have the same shape
 * and are checked by `defineRoute`. Upstreams are the real provider origins; the only way to
 * point one elsewhere is an explicit override (`--upstream openai=http://127.0.0.1:8080`, or a
 * routes file), and plain http is accepted only there.
 */
import { UsageError } from '../errors.ts';

/** How a provider's JSON error bodies look (see _refusal.ts), so its SDK shows our refusals well. */
export const ERROR_SHAPES = ['openai', 'anthropic', 'google', 'mistral'] as const;
export type ErrorShape = (typeof ERROR_SHAPES)[number];

export interface Route {
  /** The path prefix on the broker (`/openai/...`), and how keys and audit records name the route. */
  readonly name: string;
  /** Where requests go: an https origin, optionally with a base path (`https://api.openai.com`). */
  readonly upstream: string;
  /** The vault secret holding this provider's key. */
  readonly secret: string;
  /** The header the provider reads its key from. */
  readonly header: string;
  /** Written before the key in that header (`Bearer`), or none. */
  readonly scheme?: string;
  readonly errorShape: ErrorShape;
  /** For `exec`: variables set to the route's broker URL (plus `baseSuffix`) and to its phantom key. */
  readonly env?: { readonly baseUrl: readonly string[]; readonly apiKey: readonly string[]; readonly baseSuffix?: string };
}

/**
 * The providers the adapters know. The variables are the ones each official SDK reads: openai
 * (Python and Node) OPENAI_BASE_URL/OPENAI_API_KEY with `/v1` in the base URL; anthropic
 * ANTHROPIC_BASE_URL/ANTHROPIC_API_KEY without it; google-genai GOOGLE_GEMINI_BASE_URL and
 * GOOGLE_API_KEY (else GEMINI_API_KEY); groq GROQ_BASE_URL/GROQ_API_KEY; mistral reads only
 * MISTRAL_API_KEY (its base URL is an argument: pass `server_url=os.environ["MISTRAL_BASE_URL"]`).
 */
export const BUILTIN_ROUTES = [
  {
    name: 'openai', upstream: 'https://api.openai.com', secret: 'openai-api-key', header: 'authorization', scheme: 'Bearer',
    errorShape: 'openai', env: { baseUrl: ['OPENAI_BASE_URL'], apiKey: ['OPENAI_API_KEY'], baseSuffix: '/v1' },
  },
  {
    name: 'anthropic', upstream: 'https://api.anthropic.com', secret: 'anthropic-api-key', header: 'x-api-key',
    errorShape: 'anthropic', env: { baseUrl: ['ANTHROPIC_BASE_URL'], apiKey: ['ANTHROPIC_API_KEY'] },
  },
  {
    name: 'gemini', upstream: 'https://generativelanguage.googleapis.com', secret: 'gemini-api-key', header: 'x-goog-api-key',
    errorShape: 'google', env: { baseUrl: ['GOOGLE_GEMINI_BASE_URL'], apiKey: ['GOOGLE_API_KEY', 'GEMINI_API_KEY'] },
  },
  {
    name: 'groq', upstream: 'https://api.groq.com', secret: 'groq-api-key', header: 'authorization', scheme: 'Bearer',
    errorShape: 'openai', env: { baseUrl: ['GROQ_BASE_URL'], apiKey: ['GROQ_API_KEY'] },
  },
  {
    name: 'mistral', upstream: 'https://api.mistral.ai', secret: 'mistral-api-key', header: 'authorization', scheme: 'Bearer',
    errorShape: 'mistral', env: { baseUrl: ['MISTRAL_BASE_URL'], apiKey: ['MISTRAL_API_KEY'] },
  },
] as const satisfies readonly Route[];

export type BuiltinRouteName = (typeof BUILTIN_ROUTES)[number]['name'];

/**
 * Every header an SDK may carry a key in. Whichever holds the phantom key authenticates the
 * request; all of them are stripped before forwarding, so nothing the client sent as a
 * credential reaches the provider.
 */
export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;

const ROUTE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const HEADER_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** A user-defined route (or a built-in one with its upstream replaced), checked. */
export function defineRoute(input: unknown, options: { allowHttp?: boolean } = {}): Route {
  const fields = (input ?? {}) as Record<string, unknown>;
  const { name, upstream, secret, header, scheme, errorShape } = fields;
  if (typeof name !== 'string' || !ROUTE_NAME.test(name)) {
    throw new UsageError('A route needs a name of lower-case letters, digits and dashes (it is the path prefix), e.g. "together".');
  }
  if (typeof secret !== 'string' || secret.length === 0) throw new UsageError(`The route "${name}" needs the name of its vault secret ("secret").`);
  const lower = typeof header === 'string' ? header.toLowerCase() : undefined;
  if (lower === undefined || !HEADER_NAME.test(lower)) {
    throw new UsageError(`The route "${name}" needs the header its provider reads the key from ("header"), e.g. "authorization".`);
  }
  if (scheme !== undefined && (typeof scheme !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(scheme))) {
    throw new UsageError(`The route "${name}" has an invalid "scheme": one word such as "Bearer", or none.`);
  }
  const shape = errorShape ?? 'openai';
  if (!(ERROR_SHAPES as readonly unknown[]).includes(shape)) {
    throw new UsageError(`The route "${name}" has an unknown "errorShape": use one of ${ERROR_SHAPES.join(', ')}.`);
  }
  return {
    name, secret, header: lower, errorShape: shape as ErrorShape,
    upstream: checkUpstream(name, upstream, options.allowHttp ?? false),
    ...(scheme === undefined ? lower === 'authorization' ? { scheme: 'Bearer' } : {} : { scheme: scheme as string }),
    env: checkEnv(name, fields.env),
  };
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;

/**
 * The variables `exec` sets for a user-defined route: as given (`{"baseUrl": [...], "apiKey":
 * [...]}`), else `<NAME>_BASE_URL` and `<NAME>_API_KEY`. Never an AGENT_VAULT_* variable.
 */
function checkEnv(name: string, env: unknown): NonNullable<Route['env']> {
  const upper = name.toUpperCase().replaceAll('-', '_');
  if (env === undefined) return { baseUrl: [`${upper}_BASE_URL`], apiKey: [`${upper}_API_KEY`] };
  const { baseUrl, apiKey, baseSuffix } = (env ?? {}) as Record<string, unknown>;
  const names = (list: unknown) => Array.isArray(list) && list.every((item) => typeof item === 'string' && ENV_NAME.test(item) && !item.startsWith('AGENT_VAULT_'));
  if (!names(baseUrl) || !names(apiKey) || (baseSuffix !== undefined && (typeof baseSuffix !== 'string' || !/^(\/[A-Za-z0-9._-]+)*$/.test(baseSuffix)))) {
    throw new UsageError(
      `The route "${name}" has an invalid "env": {"baseUrl": ["${upper}_BASE_URL"], "apiKey": ["${upper}_API_KEY"], ` +
        '"baseSuffix": "/v1"} (upper-case variable names, none starting with AGENT_VAULT_).',
    );
  }
  return { baseUrl: baseUrl as string[], apiKey: apiKey as string[], ...(baseSuffix === undefined ? {} : { baseSuffix: baseSuffix as string }) };
}

/** An upstream as origin plus base path, without a trailing slash; https unless `allowHttp`. */
export function checkUpstream(name: string, upstream: unknown, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(String(upstream));
  } catch {
    throw new UsageError(`The route "${name}" needs an upstream URL such as https://api.example.com.`);
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) {
    throw new UsageError(
      `The upstream of "${name}" must be https (a plain http upstream is accepted only as an explicit ` +
        `override: --upstream ${name}=http://127.0.0.1:PORT, or "allowHttp": true in the routes file).`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new UsageError(`The upstream of "${name}" must be a plain origin and path: no credentials, query or fragment.`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/**
 * The routes a broker serves: the built-in ones, then `custom` (a routes file's entries, which
 * may replace a built-in route of the same name), then `--upstream NAME=URL` overrides.
 */
export function resolveRoutes(options: { custom?: unknown[]; upstreams?: string[]; allowHttp?: boolean } = {}): Route[] {
  const routes = new Map<string, Route>(BUILTIN_ROUTES.map((route) => [route.name, route as Route]));
  for (const entry of options.custom ?? []) {
    const route = defineRoute(entry, { allowHttp: options.allowHttp ?? false });
    routes.set(route.name, route);
  }
  for (const override of options.upstreams ?? []) {
    const at = override.indexOf('=');
    const name = override.slice(0, Math.max(at, 0));
    const route = routes.get(name);
    if (at <= 0 || !route) {
      throw new UsageError(`--upstream takes ROUTE=URL with a known route (${[...routes.keys()].join(', ')}), e.g. --upstream openai=http://127.0.0.1:8080.`);
    }
    // Given explicitly on the command line: plain http allowed (a local test provider, a sidecar).
    routes.set(name, { ...route, upstream: checkUpstream(name, override.slice(at + 1), true) });
  }
  return [...routes.values()];
}
