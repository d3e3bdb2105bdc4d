import { PhantomKeys, startBroker } from '../../broker/index.ts';
import { parseDuration } from '../../duration.ts';
import type { Command } from '../_command.ts';
import { brokerNotes, childEnvironment, readConfigFile, ROUTE_OPTIONS, routesFrom, withBrokerAccess } from '../_broker-setup.ts';
import { runChild } from '../_child.ts';

const DEFAULT_TTL = '12h';

export const exec: Command = {
  name: 'exec',
  summary: 'Run a command that reaches the providers through a broker, holding no key',
  usage: 'exec [--allow PATTERN]... [--ttl DURATION] [--upstream ROUTE=URL]... [--routes FILE] -- COMMAND [ARGS]...',
  description:
    'Start a key-injecting broker on 127.0.0.1 and run COMMAND with each provider SDK pointed at it:\n' +
    'OPENAI_BASE_URL/OPENAI_API_KEY, ANTHROPIC_BASE_URL/ANTHROPIC_API_KEY, GOOGLE_GEMINI_BASE_URL/\n' +
    'GOOGLE_API_KEY/GEMINI_API_KEY, GROQ_BASE_URL/GROQ_API_KEY, MISTRAL_BASE_URL/MISTRAL_API_KEY. The\n' +
    'keys it gets are phantom keys (avp_...): they work only through this broker, only for their\n' +
    'route, and stop working when COMMAND exits. The broker puts the real key in each request at the\n' +
    'socket and audits it. COMMAND inherits no AGENT_VAULT_* variable and no provider key variable.\n' +
    '\n' +
    'Vault access: the agent token in AGENT_VAULT_TOKEN_FILE or AGENT_VAULT_TOKEN; or, as the owner,\n' +
    '--allow PATTERN: a temporary agent allowed PATTERN for --ttl is created, and revoked when COMMAND\n' +
    'exits. Signals are passed to COMMAND; the exit code is its own.',
  args: [],
  takesCommand: true,
  options: {
    allow: { type: 'string', multiple: true, value: 'PATTERN', description: 'Owner mode: the temporary agent may read secrets matching PATTERN (repeatable).' },
    ttl: { type: 'string', value: 'DURATION', description: `How long the phantom keys (and a temporary agent) live at most. Default ${DEFAULT_TTL}.` },
    ...ROUTE_OPTIONS,
  },
  examples: [
    "agent-vault exec --allow 'openai-*' -- python agent.py",
    'AGENT_VAULT_TOKEN_FILE=./bot.token agent-vault exec -- node agent.js',
    "agent-vault exec --allow 'openai-*' -- curl -s \"$OPENAI_BASE_URL/models\" -H \"Authorization: Bearer $OPENAI_API_KEY\"",
  ],
  async run({ options, command, dir, keyFile, output }) {
    const ttl = (options.ttl as string | undefined) ?? DEFAULT_TTL;
    const ttlMs = parseDuration(ttl, '--ttl');
    const routes = routesFrom(await readConfigFile(options.routes as string | undefined), options.upstream as string[] | undefined);
    const allow = options.allow as string[] | undefined;
    return withBrokerAccess({ dir, keyFile }, routes, { ttl, ...(allow ? { allow } : {}) }, async ({ vault, served }) => {
      const keys = new PhantomKeys();
      const broker = await startBroker({
        vault, routes: served, keys,
        onError: brokerNotes(output, 'exec'),
      });
      try {
        const session = served.map((route) => ({
          route, baseUrl: broker.baseUrl(route), key: keys.mint(`exec-${process.pid}-${route.name}`, route.name, ttlMs).key,
        }));
        return await runChild(command, childEnvironment(process.env, routes, session));
      } finally {
        await broker.close();
      }
    });
  },
};
