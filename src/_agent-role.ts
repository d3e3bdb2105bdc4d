/**
 * An agent vault's parts, from its token and the vault's header: the credentials (the token
 * must be of this vault, and the header signed by the owner key the token pins) and the guard
 * that checks every record against the signed state.
 */
import type { Backend } from './backend.ts';
import { equalBytes } from './_bytes.ts';
import { type StoredHeader, verifyHeader } from './_header.ts';
import { StateGuard } from './_state.ts';
import { wipe } from './crypto.ts';
import { AccessDeniedError, IntegrityError } from './errors.ts';
import { type AgentCredentials, parseToken } from './token.ts';
import type { TokenFile } from './_files.ts';

export type AgentRole = { kind: 'agent'; credentials: AgentCredentials; guard: StateGuard };

export function agentRole(header: StoredHeader, token: string, backend: Backend): AgentRole {
  const credentials = parseToken(token);
  try {
    if (!equalBytes(credentials.vaultId, header.vaultId)) {
      throw new AccessDeniedError(
        'wrong-vault',
        `This agent token belongs to another vault than the one in this ${backend.name} backend. ` +
          'Point AGENT_VAULT_DIR (or the backend) at the vault that issued it.',
      );
    }
    if (header.format === 1) {
      throw new IntegrityError('The vault header is format 1 but this token is format 2: the header was replaced. Restore it from a backup.');
    }
    verifyHeader(header, credentials.ownerKey);
  } catch (error) {
    wipe(credentials.agentKey);
    throw error;
  }
  return agentRoleOf(credentials, backend);
}

/**
 * The role for credentials already checked against the vault (here against the header; on a
 * server against the vault id, which is the server owner key's hash). The floor lives as long as
 * this vault object (an agent process's): it never accepts a state older than one it saw, so a
 * directory rolled back under a running agent is refused.
 */
export function agentRoleOf(credentials: AgentCredentials, backend: Backend): AgentRole {
  const guard = new StateGuard(backend, { vaultId: credentials.vaultId, publicKey: credentials.ownerKey });
  return { kind: 'agent', credentials, guard };
}

/**
 * The role for a token found in the followed token file (`path`) in place of `current`'s. Only a
 * token of the same vault, agent and owner key is taken, and it keeps the current guard (so its
 * floor): the file names who this process is, a swap to another agent is a restart's decision,
 * and a token pinning another owner key would let whoever wrote the file choose which
 * signatures this process trusts.
 */
export function followedRole(current: AgentRole, token: string, path: string): AgentRole {
  const credentials = parseToken(token);
  const was = current.credentials;
  const same = equalBytes(credentials.vaultId, was.vaultId) && credentials.agentId === was.agentId &&
    equalBytes(credentials.loc, was.loc) && equalBytes(credentials.ownerKey, was.ownerKey);
  if (!same) {
    wipe(credentials.agentKey);
    throw new AccessDeniedError(
      'bad-token',
      `${path} now holds a token of another agent or vault than the one this process started with ` +
        `(agent ${JSON.stringify(was.agentId)}); restart the process to switch agents.`,
    );
  }
  return { kind: 'agent', credentials, guard: current.guard };
}

/**
 * AGENT_VAULT_TOKEN_FILE, followed: a running agent picks up a token the owner rotated into the
 * file at its next request. Keys of tokens followed away from are kept until `wipe` (the vault's
 * close), since a request in flight may still hold them.
 */
export class TokenFollower {
  readonly #file: TokenFile;
  readonly #retired: Uint8Array[] = [];
  #pending: Promise<AgentRole | undefined> | undefined;

  constructor(file: TokenFile) {
    this.#file = file;
  }

  /** The role to switch to when the file changed; concurrent calls share one check (and one new role). */
  next(current: AgentRole): Promise<AgentRole | undefined> {
    this.#pending ??= this.#file.changed()
      .then((token) => (token === undefined ? undefined : followedRole(current, token, this.#file.path)))
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  retire(...keys: Uint8Array[]): void {
    this.#retired.push(...keys);
  }

  wipe(): void {
    wipe(...this.#retired.splice(0));
  }
}
