/**
 * Handing over an agent token (agent create, agent rotate): printed once on stdout, or written
 * to a new 0600 file with --token-file, with how to give it to the agent on stderr.
 */
import { resolve } from 'node:path';
import { writeNewPrivateFile } from '../_fs.ts';
import { UsageError } from '../errors.ts';
import type { AgentInfo } from '../options.ts';
import type { OptionSpec } from './_args.ts';
import type { Output } from './_output.ts';
import { formatTime, relativeTime } from './_output.ts';

export const TOKEN_FILE_OPTION: OptionSpec = {
  type: 'string',
  value: 'PATH',
  description: 'Write the token to this new file (mode 0600) instead of stdout.',
};

export function agentJson(agent: AgentInfo) {
  const previous = agent.previous && { generation: agent.previous.generation, until: agent.previous.until.toISOString() };
  return { ...agent, createdAt: agent.createdAt.toISOString(), expiresAt: agent.expiresAt.toISOString(), ...(previous ? { previous } : {}) };
}

/**
 * Run `issue` (which makes the token) with the token file already created, so a bad path fails
 * before the agent exists rather than after its only token is made.
 */
export async function issueToken(
  output: Output,
  tokenFile: string | undefined,
  issue: () => Promise<{ token: string; agent: AgentInfo }>,
): Promise<void> {
  const path = tokenFile === undefined ? undefined : resolve(tokenFile);
  const issued = path === undefined ? await issue() : await writeNewPrivateFile(path, async () => {
    const result = await issue();
    return { content: `${result.token}\n`, result };
  }, (code) => new UsageError(
    code === 'EEXIST'
      ? `The token file ${path} already exists; choose a new path (tokens are never overwritten).`
      : `Cannot create the token file ${path} (${code}). Check that its directory exists and is writable.`,
  ));
  const { token, agent } = issued;
  if (path !== undefined) output.result({ ...agentJson(agent), tokenFile: path });
  else output.result({ ...agentJson(agent), token }, token);
  output.note(
    `Agent ${JSON.stringify(agent.id)} may read ${agent.allow.map((p) => JSON.stringify(p)).join(', ')}; ` +
      `its token expires ${formatTime(agent.expiresAt)} (${relativeTime(agent.expiresAt)}).`,
  );
  output.note(
    (path !== undefined
      ? `The token is in ${path} (mode 0600) and nowhere else. Give the agent process that file:\n` +
        `  AGENT_VAULT_TOKEN_FILE=${path}\n`
      : 'That token is shown only this once. Give it to the agent process, and only to it:\n' +
        '  - save it in a file only that process can read and set AGENT_VAULT_TOKEN_FILE=/path/to/it, or\n' +
        '  - set AGENT_VAULT_TOKEN in that process\'s environment (openVault() removes it from process.env).\n') +
      `Lost or leaked? \`agent-vault agent rotate ${agent.id}\` issues a new token and voids this one.`,
  );
}
