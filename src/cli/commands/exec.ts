import type { Command } from '../_command.ts';
import { readConfigFile, ROUTE_OPTIONS, routesFrom, scrubbedEnvironment } from '../_broker-setup.ts';
import { reexecWith, takeHandoff } from '../_exec-handoff.ts';

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
    'exits. Signals are passed to COMMAND; the exit code is its own.\n' +
    '\n' +
    'COMMAND runs as your OS user. exec re-executes itself before starting it, so its own environment\n' +
    'and command line (/proc/PID/environ, cmdline) no longer hold the token or a credential path. What\n' +
    'the same user can still reach: a token, key or passphrase FILE that stays readable (COMMAND can\n' +
    'read it as you can), the environment of the processes that started exec (a shell, npx), and\n' +
    "exec's memory (ptrace, /proc/PID/mem) unless kernel.yama.ptrace_scope is 1 or more. Against code\n" +
    'that looks for those, run the long-running `agent-vault broker` as another OS user.',
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
    // The session starts a broker (node:http), loaded here and not with the command table: every
    // CLI start would pay for it (an ESM import of node:http runs its lazy undici getter, ~40 ms).
    const { prepareSession, revokeTemporary, runSession } = await import('../_exec-session.ts');
    // The second image: everything comes from the session file the first one wrote.
    const resumed = takeHandoff();
    if (resumed) return runSession(resumed, command, output);
    const ttl = (options.ttl as string | undefined) ?? DEFAULT_TTL;
    const routes = routesFrom(await readConfigFile(options.routes as string | undefined), options.upstream as string[] | undefined);
    const allow = options.allow as string[] | undefined;
    const session = await prepareSession({ dir, keyFile }, routes, { ttl, ...(allow ? { allow } : {}) });
    try {
      if (reexecWith(session, command, scrubbedEnvironment(process.env, routes))) return 1; // not reached
    } catch (error) {
      if (session.temporary) await revokeTemporary(session.dir, session.temporary);
      throw error;
    }
    output.note('agent-vault exec: this runtime cannot re-execute itself, so COMMAND can read the token from exec\'s environment.');
    return runSession(session, command, output);
  },
};
