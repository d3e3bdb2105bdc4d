// admin.ts itself, not the folder's index, which would load the broker's server (node:http) with every command.
import { adminRequest, defaultAdminSocket } from '../../broker/admin.ts';
import { UsageError } from '../../errors.ts';
import type { OptionSpecs } from '../_args.ts';
import type { Command } from '../_command.ts';
import { formatTime } from '../_output.ts';

const ADMIN: OptionSpecs = {
  admin: { type: 'string', value: 'PATH', description: "The broker's admin socket. Default $XDG_RUNTIME_DIR/agent-vault-broker-UID/admin.sock." },
};

const adminPath = (options: Record<string, unknown>) => (options.admin as string | undefined) ?? defaultAdminSocket();

export const brokerKeyCreate: Command = {
  name: 'broker key create',
  summary: 'Mint a phantom key on the running broker; prints it once',
  usage: 'broker key create NAME --route ROUTE [--ttl DURATION] [--admin PATH]',
  description:
    'Ask the running broker for a phantom key named NAME for ROUTE (openai, anthropic, ...), valid for\n' +
    'DURATION (default 8h). The key is printed once on stdout; give it to the agent as its API key, with\n' +
    'the base URL printed on stderr. It works only through this broker, and the audit records of its\n' +
    'requests carry NAME.',
  args: ['NAME'],
  options: {
    route: { type: 'string', value: 'ROUTE', description: 'The route the key is for (required).' },
    ttl: { type: 'string', value: 'DURATION', description: 'How long it works: 90s, 15m, 8h, 30d. Default 8h.' },
    ...ADMIN,
  },
  examples: ['agent-vault broker key create research-bot --route openai --ttl 8h'],
  async run({ args, options, output }) {
    const route = options.route as string | undefined;
    if (route === undefined) throw new UsageError('Say which route the key is for: --route openai.');
    const reply = await adminRequest(adminPath(options), { op: 'create', name: args[0]!, route, ttl: (options.ttl as string | undefined) ?? '8h' });
    output.result({ name: args[0], route, key: reply.key, baseUrl: reply.baseUrl }, reply.key);
    output.note(`Base URL for its SDK: ${reply.baseUrl}. Revoke it with: agent-vault broker key revoke ${args[0]}`);
  },
};

export const brokerKeyRevoke: Command = {
  name: 'broker key revoke',
  summary: 'Revoke a phantom key on the running broker, at once',
  usage: 'broker key revoke NAME [--admin PATH]',
  description: 'Revoke the phantom key NAME: its next request is refused (401). Exits 1 when no live key has that name.',
  args: ['NAME'],
  options: ADMIN,
  examples: ['agent-vault broker key revoke research-bot'],
  async run({ args, options, output }) {
    const reply = await adminRequest(adminPath(options), { op: 'revoke', name: args[0]! });
    output.result({ name: args[0], revoked: reply.revoked === true });
    if (!reply.revoked) {
      output.note(`No live phantom key is named "${args[0]}" on this broker.`);
      return 1;
    }
    output.note(`Revoked "${args[0]}".`);
  },
};

export const brokerKeyList: Command = {
  name: 'broker key list',
  summary: 'List the live phantom keys of the running broker (names, never keys)',
  usage: 'broker key list [--admin PATH]',
  description: 'List the live phantom keys: name, route and expiry. The keys themselves are never shown again.',
  args: [],
  options: ADMIN,
  examples: ['agent-vault broker key list --json'],
  async run({ options, output }) {
    const { keys = [] } = await adminRequest(adminPath(options), { op: 'list' });
    const lines = keys.map((key) => `${key.name.padEnd(24)} ${key.route.padEnd(10)} ${formatTime(new Date(key.expiresAt))}`);
    output.result(keys, keys.length ? lines.join('\n') : 'No live phantom keys.');
  },
};
