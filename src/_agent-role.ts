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
  // The floor lives as long as this vault object (an agent process's): it never accepts a state
  // older than one it saw, so a directory rolled back under a running agent is refused.
  const guard = new StateGuard(backend, { vaultId: header.vaultId, publicKey: credentials.ownerKey });
  return { kind: 'agent', credentials, guard };
}
