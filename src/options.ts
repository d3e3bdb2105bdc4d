/**
 * The public option and result types of the vault. Every option says what happens when it is
 * left out, and which environment variable stands in for it.
 */
import type { AuditSink } from './audit/index.ts';
import type { Backend } from './backend.ts';
import type { PassphraseParams } from './crypto.ts';

export interface VaultOptions {
  /** Where records live. Default: `fileBackend({ dir })`. */
  backend?: Backend;
  /**
   * The file backend's directory, when `backend` is left out. Default: `AGENT_VAULT_DIR`, else a
   * `.agent-vault/` directory in the working directory or a parent, else `~/.agent-vault`.
   */
  dir?: string;
  /**
   * Where audit records go. Default: the backend's own sink (`audit.jsonl` in the vault directory
   * for the file backend, an in-memory log for the memory backend); a backend without one must be
   * given a sink, or the vault refuses to open. `false` turns auditing off, explicitly.
   */
  audit?: AuditSink | false;
  /**
   * The directory of the default file audit log (`audit.jsonl`), when `audit` is left out and the
   * default file backend is used. Default: `AGENT_VAULT_AUDIT_DIR`, else the vault directory. A
   * directory of its own lets agents run with the vault directory mounted read-only; the owner
   * must use the same one (set the variable in the owner's shell too) to read and verify the log.
   */
  auditDir?: string;
  /**
   * The URL of an `agent-vault serve` server holding the vault (server mode): records, policy
   * checks and the audit then live there, and `backend`, `dir`, `audit` and `auditDir` are not used.
   * Default: `AGENT_VAULT_SERVER` when neither `backend` nor `dir` is given, else none.
   */
  server?: string;
  /**
   * Server mode, owner: where the newest verified state of each server vault is remembered across
   * runs, so a rolled-back server is caught. Default: `AGENT_VAULT_STATE_DIR`, else
   * `$XDG_CONFIG_HOME/agent-vault/server-state`, else `~/.config/agent-vault/server-state`.
   */
  serverStateDir?: string;
  /** The clock, in milliseconds since the epoch. Default: `Date.now`. For tests of expiry. */
  now?: () => number;
  /**
   * Owner only: where the owner remembers each vault's newest signed state, so a vault directory
   * rolled back to an older copy is refused. Default: `AGENT_VAULT_CONFIG_DIR`, else
   * `$XDG_CONFIG_HOME/agent-vault`, else `~/.config/agent-vault` (outside Node: none). `false`:
   * remember only for the life of the vault object.
   */
  configDir?: string | false;
}

export interface OwnerUnlock {
  /** Unlock with a passphrase (Argon2id). */
  passphrase?: string | Uint8Array;
  /** Unlock with a key file made by `createVault({ keyFile })` (mode 0600). */
  keyFile?: string;
}

export interface CreateVaultOptions extends VaultOptions, OwnerUnlock {
  /**
   * Argon2id cost for a passphrase. Default: calibrated here to about 0.5 s (64 MiB). Lower it only
   * for tests; the bounds are opslimit 1..20, memlimit 8 MiB..256 MiB, opslimit × memlimit ≤ 20 × 64 MiB.
   */
  passphraseParams?: PassphraseParams;
}

export interface OpenVaultOptions extends VaultOptions, OwnerUnlock {
  /**
   * An agent token (`avt_…`). Default, when no passphrase or key file is given either: the file
   * named by `AGENT_VAULT_TOKEN_FILE`, else `AGENT_VAULT_TOKEN` (which is then deleted from
   * `process.env`, so child processes do not inherit it).
   */
  token?: string;
}

export interface SecretInfo {
  name: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** Ids of the agents that hold a grant for the current version. */
  agents: string[];
}

export interface AgentInfo {
  id: string;
  status: 'active' | 'expired' | 'revoked';
  allow: string[];
  generation: number;
  createdAt: Date;
  expiresAt: Date;
  /**
   * Present while a rotation's grace lets the previous token read too (`rotateAgent(id, { grace })`):
   * its generation and when it stops. Absent otherwise.
   */
  previous?: { generation: number; until: Date };
}

export interface CreateAgentOptions {
  /** Glob patterns of secret names the agent may read (`*` any run, `?` one character). */
  allow: string[];
  /** How long the token lives: milliseconds or `'90s'`, `'15m'`, `'1h'`, `'30d'`, `'2w'`. Default `'30d'`. */
  ttl?: string | number;
}

/** What `updateAgent` changes; at least one of them. The token stays the same. */
export interface UpdateAgentOptions {
  /** The agent's new patterns, replacing the old ones. Default: unchanged. */
  allow?: string[];
  /** Its new lifetime, counted from now (as for `CreateAgentOptions.ttl`). Default: unchanged. */
  ttl?: string | number;
}
