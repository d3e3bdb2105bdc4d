/**
 * One agent per MCP server that import rewrites. The rewritten entry runs `exec` in token mode
 * with that agent's token file: it never names the owner's key file or passphrase file, which
 * the server (running as the same user) could otherwise read and open the whole vault with. A
 * compromised server gets at most its own token: the keys it was granted, nothing else, revocable
 * with `agent-vault agent revoke ID`.
 */
import { existsSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeNewPrivateFile } from '../_fs.ts';
import { BackendError, UsageError } from '../errors.ts';
import type { Vault } from '../vault.ts';

/**
 * How long an MCP server's token (and the phantom keys exec gives it) lives: an MCP client keeps
 * its servers running for days. Renewed with `agent-vault agent rotate ID --token-file FILE`.
 */
export const MCP_AGENT_TTL = '90d';

/** The variable `exec` (through openVault) reads the agent's token file from. */
export const TOKEN_FILE_ENV = 'AGENT_VAULT_TOKEN_FILE';

/** An agent import made for one MCP server entry. */
export interface McpAgent {
  id: string;
  tokenFile: string;
  /** The config file and the server's path in it. */
  path: string;
  serverPath: string[];
}

/** The MCP client a config file belongs to, for the agent's id (`claude-desktop`, `cursor`). */
export function mcpClientOf(path: string): string {
  const name = basename(path);
  const parent = basename(dirname(path));
  if (name === 'claude_desktop_config.json') return 'claude-desktop';
  if (name === '.claude.json' || name === '.mcp.json') return 'claude';
  if (parent === '.cursor') return 'cursor';
  if (parent === '.vscode' || (parent === 'User' && basename(dirname(dirname(path))) === 'Code')) return 'vscode';
  if (parent === 'windsurf' || name === 'mcp_config.json') return 'windsurf';
  return 'mcp';
}

/** `mcp-claude-github`; `-2`, `-3`... when `taken` already has it. Always a valid agent id. */
export function mcpAgentId(path: string, server: string, taken: (id: string) => boolean): string {
  const slug = server.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'server';
  const base = `mcp-${mcpClientOf(path)}-${slug}`.slice(0, 56).replace(/-+$/, '');
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    if (!taken(id)) return id;
  }
}

/** Where the MCP agents' token files live: the owner's config directory, 0700. */
export function ensureTokensDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Create the agent, allowed exactly `names`, its token written to a new 0600 file. */
export async function issueMcpAgent(vault: Vault, id: string, names: readonly string[], tokenFile: string): Promise<void> {
  await writeNewPrivateFile(tokenFile, async () => {
    const { token } = await vault.createAgent(id, { allow: [...names], ttl: MCP_AGENT_TTL });
    return { content: `${token}\n`, result: undefined };
  }, (code) => new BackendError(`Cannot create the token file ${tokenFile} (${code}); nothing was imported for this server. Check the directory's permissions.`));
}

/**
 * Revoke an agent import made and delete its token file. An agent that is already revoked, or
 * was never created (an import interrupted between recording and creating it), is fine.
 */
export async function withdrawMcpAgent(vault: Vault, agent: Pick<McpAgent, 'id' | 'tokenFile'>): Promise<void> {
  const known = (await vault.listAgents()).find((candidate) => candidate.id === agent.id);
  if (known && known.status !== 'revoked') {
    try {
      await vault.revokeAgent(agent.id);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
    }
  }
  if (existsSync(agent.tokenFile)) rmSync(agent.tokenFile, { force: true });
}

/** The token file for `id` in `dir`. */
export function tokenFileFor(dir: string, id: string): string {
  return join(dir, `${id}.token`);
}
