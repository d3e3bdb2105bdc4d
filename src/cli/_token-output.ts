/**
 * Handing over an agent token (agent create, agent rotate): printed once on stdout, or written
 * to a new 0600 file with --token-file, with how to give it to the agent on stderr.
 */
import { randomBytes } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoCode, writeNewPrivateFile } from '../_fs.ts';
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

export const FORCE_OPTION: OptionSpec = {
  type: 'boolean',
  description: 'With --token-file: replace that file (atomically, so an agent re-reading it sees the old or the new token).',
};

/** Where a token goes: stdout, a new file, or (with --force) over an existing one. */
export interface TokenDestination {
  path: string | undefined;
  force: boolean;
}

export function tokenDestination(options: Record<string, unknown>): TokenDestination {
  const path = options['token-file'] as string | undefined;
  if (options.force === true && path === undefined) throw new UsageError('--force only applies to --token-file PATH.');
  return { path: path === undefined ? undefined : resolve(path), force: options.force === true };
}

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
  destination: TokenDestination,
  issue: () => Promise<{ token: string; agent: AgentInfo }>,
): Promise<void> {
  const { path, force } = destination;
  // With --force the token is written beside the file and renamed over it: never a half-written
  // token for an agent that re-reads it, and the old one stays until the new one is complete.
  const writePath = path === undefined ? undefined
    : force ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : path;
  const issued = writePath === undefined ? await issue() : await writeNewPrivateFile(writePath, async () => {
    const result = await issue();
    return { content: `${result.token}\n`, result };
  }, (code) => new UsageError(
    code === 'EEXIST'
      ? `The token file ${path} already exists. Add --force to replace it (an agent reading AGENT_VAULT_TOKEN_FILE picks up the new token), or choose a new path.`
      : `Cannot create the token file ${path} (${code}). Check that its directory exists and is writable.`,
  ));
  if (writePath !== path) {
    // The token is issued (a rotated one replaces the old): never delete it, say where it is.
    await rename(writePath as string, path as string).catch((cause) => {
      throw new UsageError(`The new token is in ${writePath}, but moving it over ${path} failed (${errnoCode(cause)}). Move it yourself: mv ${writePath} ${path}`);
    });
  }
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
        '  - set AGENT_VAULT_TOKEN in that process\'s environment (agent-vault removes it from the environment once read).\n') +
      `Lost or leaked? \`agent-vault agent rotate ${agent.id}\` issues a new token and voids this one.`,
  );
}
