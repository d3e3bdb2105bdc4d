/**
 * `import`: what scan found, into the vault, and out of its sources. Planned first (shown to
 * the owner, confirmed), then applied in the order that can never lose a key: every value is
 * stored in the vault before any file is rewritten, and each file is backed up before its
 * atomic rewrite. A finding that cannot be moved cleanly is left where it is and named.
 */
import { existsSync, readFileSync } from 'node:fs';
// routes.ts itself: the folder's index would load the broker's server (node:http) with every CLI command.
import { BUILTIN_ROUTES } from '../broker/routes.ts';
import type { Vault } from '../vault.ts';
import { ensureTokensDir, issueMcpAgent, MCP_AGENT_TTL, type McpAgent, mcpAgentId, TOKEN_FILE_ENV, tokenFileFor, withdrawMcpAgent } from './agents.ts';
import { ImportBackup } from './backup.ts';
import { BackupSealer } from './_sealer.ts';
import { secretNameFor } from './detect.ts';
import type { Finding } from './finding.ts';
import { type ExecLauncher, type Move, rewriteLines, rewriteMcp } from './rewrite.ts';

export interface ImportPlan {
  /** New vault secrets (a value already in the vault is not stored again). */
  store: Move[];
  /** Files to rewrite, with the keys moving out of each. */
  files: { path: string; kind: Finding['kind']; moves: Move[] }[];
  /** Keys in this process's environment: stored, but only the user can unset them where they are set. */
  environment: Move[];
  /** Keys left where they are, each with why. */
  left: { finding: Finding; reason: string }[];
}

/** The secrets `exec` can hand to an MCP server as phantom keys: one per broker route. */
const BROKERED_SECRETS: ReadonlySet<string> = new Set(BUILTIN_ROUTES.map((route) => route.secret));

/**
 * Decide, for every finding, the vault name it goes to, or why it stays. The vault must have
 * been compared (`markInVault`) so that a value already stored is recognised.
 */
export async function planImport(findings: readonly Finding[], vault: Vault): Promise<ImportPlan> {
  const existing = new Set((await vault.list()).map((secret) => secret.name));
  const plan: ImportPlan = { store: [], files: [], environment: [], left: [] };
  const planned = new Map<string, Finding>();
  const accepted: Move[] = [];
  for (const finding of findings) {
    const leave = (reason: string) => plan.left.push({ finding, reason });
    if (finding.removal === 'manual' || finding.variable === undefined) {
      leave(finding.note ?? 'not in a form import can rewrite');
      continue;
    }
    if (finding.provider === 'agent-vault') {
      // The vault's own credential: stored inside the vault it would lock the agent out.
      leave('an agent-vault token: keep it in a 0600 file named by AGENT_VAULT_TOKEN_FILE, or rotate the agent if it leaked');
      continue;
    }
    const name = finding.inVault ?? secretNameFor(finding.variable);
    const earlier = planned.get(name);
    if (!finding.inVault && existing.has(name)) {
      leave(`the vault already holds a different value as "${name}": compare them, then \`agent-vault set ${name}\` or remove this line by hand`);
      continue;
    }
    if (earlier && earlier.value() !== finding.value()) {
      leave(`another value for "${name}" is being imported (${earlier.where}): keep one by hand`);
      continue;
    }
    if (finding.removal === 'mcp-env' && !BROKERED_SECRETS.has(name)) {
      leave(`exec has no provider route for "${name}", so the server would lose the key: move it by hand`);
      continue;
    }
    if (!earlier && !finding.inVault) plan.store.push({ finding, name });
    planned.set(name, finding);
    accepted.push({ finding, name });
  }
  // An MCP entry is rewritten whole or not at all: one key that must stay keeps them all there.
  const blockedServers = new Set(plan.left.filter(({ finding }) => finding.server !== undefined).map(({ finding }) => serverKey(finding)));
  for (const move of accepted) {
    if (move.finding.removal === 'mcp-env' && blockedServers.has(serverKey(move.finding))) {
      plan.left.push({ finding: move.finding, reason: 'another key in this server entry stays, so the entry is left as it is' });
      continue;
    }
    if (move.finding.removal === 'environment') {
      plan.environment.push(move);
      continue;
    }
    const path = move.finding.path as string;
    let file = plan.files.find((candidate) => candidate.path === path);
    if (!file) plan.files.push((file = { path, kind: move.finding.kind, moves: [] }));
    file.moves.push(move);
  }
  const moved = new Set([...plan.environment, ...plan.files.flatMap((file) => file.moves)].map((move) => move.name));
  plan.store = plan.store.filter((move) => moved.has(move.name));
  return plan;
}

function serverKey(finding: Finding): string {
  return JSON.stringify([finding.path, finding.serverPath]);
}

export interface ImportResult {
  stored: string[];
  rewritten: string[];
  /** Files not rewritten after all (changed since the scan, unwritable), with why. */
  failed: { path: string; reason: string }[];
  /** The agent made for each rewritten MCP server: its id, the keys it may read, its token file. */
  agents: { id: string; where: string; allow: string[]; tokenFile: string }[];
  /** The import's backup directory, for `--undo` and for deleting the backups once checked. */
  backupDir: string | undefined;
}

export interface ApplyOptions {
  /** How an entry starts exec, up to the vault: `node /abs/cli.js exec --dir /abs/vault`. */
  launcher: ExecLauncher;
  /** Where backups go (locations.ts importsDir). */
  importsDir: string;
  /** Where the MCP agents' token files go (locations.ts tokensDir). */
  tokensDir: string;
}

/** Store, back up, rewrite; an agent of its own for each MCP server rewritten. */
export async function applyImport(plan: ImportPlan, vault: Vault, options: ApplyOptions): Promise<ImportResult> {
  const result: ImportResult = { stored: [], rewritten: [], failed: [], agents: [], backupDir: undefined };
  for (const { finding, name } of plan.store) {
    await vault.set(name, finding.value());
    result.stored.push(name);
  }
  if (plan.files.length === 0) return result;
  const sealer = new BackupSealer(vault);
  try {
    await rewriteFiles(plan, vault, options, await ImportBackup.create(options.importsDir, sealer), result);
  } finally {
    sealer.wipe();
  }
  return result;
}

/** Each file backed up, then rewritten, with the agents its MCP servers need; a file that fails keeps its keys. */
async function rewriteFiles(plan: ImportPlan, vault: Vault, options: ApplyOptions, backup: ImportBackup, result: ImportResult): Promise<void> {
  result.backupDir = backup.dir;
  const taken = new Set((await vault.listAgents()).map((agent) => agent.id));
  for (const file of plan.files) {
    const made: { agent: McpAgent; names: string[]; server: string }[] = [];
    try {
      const before = readFileSync(file.path);
      const text = before.toString('utf8');
      let after: string;
      if (file.kind === 'mcp-config') {
        const servers = serversOf(file.moves, file.path, options.tokensDir, taken);
        // The new text first (it refuses a file changed since the scan), then the agents it names.
        after = rewriteMcp(text, file.moves, (serverPath) => launcherFor(options.launcher, servers.get(JSON.stringify(serverPath))!.agent));
        if (servers.size) ensureTokensDir(options.tokensDir);
        for (const server of servers.values()) {
          await backup.recordAgent(server.agent);
          made.push(server);
          await issueMcpAgent(vault, server.agent.id, server.names, server.agent.tokenFile);
        }
      } else after = rewriteLines(text, file.moves);
      await backup.rewrite(file.path, before, new TextEncoder().encode(after));
      result.rewritten.push(file.path);
      for (const { agent, names, server } of made) {
        result.agents.push({ id: agent.id, where: `${file.path} → ${server}`, allow: names, tokenFile: agent.tokenFile });
      }
    } catch (error) {
      // The file keeps its keys, so the agents made for it have nothing to do: withdrawn again.
      for (const { agent } of made) {
        await withdrawMcpAgent(vault, agent);
        await backup.forgetAgent(agent.id);
      }
      result.failed.push({ path: file.path, reason: error instanceof Error ? error.message : String(error) });
    }
  }
}

function namesOf(moves: readonly Move[]): string[] {
  return [...new Set(moves.map((move) => move.name))].sort();
}

/** Each server of one file with keys moving out, its agent (id and token file chosen) and the names it may read. */
function serversOf(moves: readonly Move[], path: string, tokensDir: string, taken: Set<string>): Map<string, { agent: McpAgent; names: string[]; server: string }> {
  const servers = new Map<string, { agent: McpAgent; names: string[]; server: string }>();
  for (const move of moves) {
    const key = JSON.stringify(move.finding.serverPath);
    if (servers.has(key)) continue;
    const id = mcpAgentId(path, move.finding.server as string, (candidate) => taken.has(candidate) || existsSync(tokenFileFor(tokensDir, candidate)));
    taken.add(id);
    const agent: McpAgent = { id, tokenFile: tokenFileFor(tokensDir, id), path, serverPath: move.finding.serverPath as string[] };
    servers.set(key, { agent, names: namesOf(moves.filter((other) => JSON.stringify(other.finding.serverPath) === key)), server: move.finding.server as string });
  }
  return servers;
}

/** The entry's exec: token mode with its own agent's file, phantom keys as long-lived as the token. */
function launcherFor(base: ExecLauncher, agent: McpAgent): ExecLauncher {
  return { command: base.command, args: [...base.args, '--ttl', MCP_AGENT_TTL], env: { [TOKEN_FILE_ENV]: agent.tokenFile } };
}
