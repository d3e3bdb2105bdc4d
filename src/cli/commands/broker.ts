import { readFile } from 'node:fs/promises';
// admin.ts itself, not the folder's index (see broker-key.ts).
import { type AdminAudit, defaultAdminSocket } from '../../broker/admin.ts';
import { UsageError } from '../../errors.ts';
import type { Command } from '../_command.ts';
import { brokerNotes, hasAgentToken, readConfigFile, ROUTE_OPTIONS, routesFrom, withBrokerAccess } from '../_broker-setup.ts';

const DEFAULT_LISTEN = '127.0.0.1:8790';

export const broker: Command = {
  name: 'broker',
  summary: 'Run the key-injecting broker as a service; keys come from `broker key create`',
  usage: 'broker [--listen HOST:PORT] [--config FILE] [--tls-cert PATH --tls-key PATH] [--admin PATH] [--upstream ROUTE=URL]...',
  description:
    'Serve the provider routes (/openai, /anthropic, /gemini, /groq, /mistral and those of --routes or\n' +
    '--config) until stopped (SIGTERM, SIGINT), with the real key put into each request at the socket.\n' +
    'Vault access is the agent token in AGENT_VAULT_TOKEN_FILE or AGENT_VAULT_TOKEN; agents get phantom\n' +
    'keys from `agent-vault broker key create`, over the admin socket (a 0700 directory only this user\n' +
    'can enter). Listening beyond loopback needs --tls-cert and --tls-key. Phantom keys live in memory\n' +
    'only: a restart revokes them all.\n' +
    '\n' +
    'The config file is JSON: {"listen": "HOST:PORT", "admin": PATH, "tls": {"cert": PATH, "key": PATH},\n' +
    '"routes": [{"name", "upstream", "secret", "header", "scheme"?, "errorShape"?}], "allowHttp": false}.\n' +
    'Flags win over the file.',
  args: [],
  options: {
    listen: { type: 'string', value: 'HOST:PORT', description: `Where to listen. Default ${DEFAULT_LISTEN}.` },
    config: { type: 'string', value: 'FILE', description: 'A JSON config file (listen, admin, tls, routes).' },
    'tls-cert': { type: 'string', value: 'PATH', description: 'Serve HTTPS with this certificate (PEM); required beyond loopback.' },
    'tls-key': { type: 'string', value: 'PATH', description: 'The certificate\'s private key (PEM).' },
    admin: { type: 'string', value: 'PATH', description: 'The admin socket. Default $XDG_RUNTIME_DIR/agent-vault-broker-UID/admin.sock.' },
    ...ROUTE_OPTIONS,
  },
  examples: [
    'AGENT_VAULT_TOKEN_FILE=/etc/agent-vault/broker.token agent-vault broker',
    'agent-vault broker --listen 0.0.0.0:8790 --tls-cert cert.pem --tls-key key.pem',
  ],
  async run({ options, dir, keyFile, output }) {
    const config = await readConfigFile((options.config ?? options.routes) as string | undefined);
    const routes = routesFrom(config, options.upstream as string[] | undefined);
    const [host, port] = parseListen((options.listen as string | undefined) ?? (config.listen as string | undefined) ?? DEFAULT_LISTEN);
    const tlsPaths = { cert: options['tls-cert'] ?? (config.tls as { cert?: string } | undefined)?.cert, key: options['tls-key'] ?? (config.tls as { key?: string } | undefined)?.key };
    if ((tlsPaths.cert === undefined) !== (tlsPaths.key === undefined)) throw new UsageError('Give both --tls-cert and --tls-key, or neither.');
    const tls = tlsPaths.cert === undefined ? undefined : { cert: await readFile(String(tlsPaths.cert)), key: await readFile(String(tlsPaths.key)) };
    if (!hasAgentToken()) {
      throw new UsageError('The broker runs as an agent: set AGENT_VAULT_TOKEN_FILE (or AGENT_VAULT_TOKEN) to a token from `agent-vault agent create`.');
    }
    const adminPath = (options.admin as string | undefined) ?? (config.admin as string | undefined) ?? defaultAdminSocket();
    // node:http, loaded when a broker starts, not with the command table (see exec).
    const { startAdmin, startBroker } = await import('../../broker/index.ts');
    await withBrokerAccess({ dir, keyFile }, routes, async ({ vault, agentId }) => {
      const running = await startBroker({
        vault, routes, host, port, ...(tls ? { tls } : {}),
        onError: brokerNotes(output, 'broker'),
      });
      const audit: AdminAudit = (event) => vault._auditBroker({ action: 'broker.key', ...event });
      const admin = await startAdmin(adminPath, running.keys, routes, running.baseUrl, audit).catch(async (error) => {
        await running.close();
        throw error;
      });
      // Listening for the stop signal before saying we are up: a supervisor may send it at once.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      output.note(`agent-vault broker: ${running.url} as agent ${agentId}, routes ${routes.map((r) => r.name).join(', ')}; admin socket ${admin.path}`);
      output.result({ url: running.url, admin: admin.path, agent: agentId, routes: routes.map((r) => r.name) }, running.url);
      await stopped;
      await admin.close();
      await running.close();
    });
  },
};

function parseListen(value: string): [string, number] {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) throw new UsageError('--listen takes HOST:PORT, e.g. 127.0.0.1:8790 or [::1]:8790.');
  return [match[1]!.replace(/^\[|\]$/g, ''), Number(match[2])];
}
