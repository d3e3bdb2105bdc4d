/**
 * The Vault: one object for both roles. An owner (unlocked with a passphrase or key file) holds
 * the root key and can do everything; an agent (opened with its token) holds only its agent
 * key, which opens exactly the data keys granted to it.
 */
import type { Backend } from './backend.ts';
import { bytesToHex, secretBytes } from './_bytes.ts';
import { auditKey, importMacKey, importSealKey } from './_keys.ts';
import { TokenFollower } from './_agent-role.ts';
import type { OwnerRole } from './_owner-role.ts';
import { ad } from './_records.ts';
import type { OwnerContext } from './_owner-ops.ts';
import type {
  AuditEvent, AuditFilter, AuditRecord, AuditReport, AuditSink, AuditVerifyOptions,
} from './audit/index.ts';
import { sealName } from './audit/_names.ts';
import { wipe } from './crypto.ts';
import { AccessDeniedError, AuditError, UsageError, VaultError } from './errors.ts';
import { canonicalName } from './names.ts';
import { AgentAccess, type SealedValue, SecretReader } from './_secret-access.ts';
import type {
  AgentInfo, CreateAgentOptions, CreateVaultOptions, OpenVaultOptions, SecretInfo, UpdateAgentOptions,
} from './options.ts';
import { SecretBuffer } from './secret.ts';
import type { TokenFile } from './_files.ts';
import { createParts, openParts, type Role, type VaultParts } from './_vault-open.ts';

/**
 * @internal A secret checked and audited but not decrypted (see `Vault._prepare`): its length,
 * and a synchronous decryption straight into the caller's bytes.
 */
export interface PreparedSecret {
  /** The value's length in bytes, known without decrypting. */
  readonly length: number;
  /** Decrypt into `target` (exactly `length` bytes), leaving no copy elsewhere; the caller wipes it. */
  decryptInto(target: Uint8Array): void;
  /** End this preparation: later `decryptInto` calls throw. */
  dispose(): void;
}

export class Vault {
  readonly #backend: Backend;
  readonly #vaultId: Uint8Array;
  // Not readonly: an agent following its token file switches to a rotated token in place.
  #role: Role;
  readonly #audit: AuditSink | undefined;
  #auditKey: Uint8Array;
  readonly #now: () => number;
  readonly #reader: SecretReader;
  #agent: AgentAccess | undefined;
  readonly #follower: TokenFollower | undefined;
  readonly #onServer: boolean;

  /**
   * Use `createVault` or `openVault`. `tokenFile` is followed when it changes (agent). `onServer`
   * (server mode) keeps no record's bytes between resolutions: each one is read, checked and dropped.
   */
  private constructor(
    backend: Backend, vaultId: Uint8Array, role: Role, audit: AuditSink | undefined, now: () => number,
    tokenFile?: TokenFile, onServer = false,
  ) {
    this.#backend = backend;
    this.#vaultId = vaultId;
    this.#role = role;
    this.#audit = audit;
    this.#now = now;
    this.#follower = tokenFile && new TokenFollower(tokenFile);
    const base = role.kind === 'owner' ? role.rootKey : role.credentials.agentKey;
    this.#auditKey = auditKey(base);
    this.#onServer = onServer;
    const publicKey = role.kind === 'owner' ? role.signer.publicKey : role.credentials.ownerKey;
    this.#reader = new SecretReader(role.guard, vaultId, publicKey, !onServer);
    this.#agent = role.kind === 'agent' ? new AgentAccess(role.guard, vaultId, this.#reader, role.credentials, now) : undefined;
  }

  /** @internal Use createVault(). */
  static async _create(options: CreateVaultOptions): Promise<Vault> {
    return Vault.#from(await createParts(options));
  }

  /** @internal Use openVault(). */
  static async _open(options: OpenVaultOptions): Promise<Vault> {
    return Vault.#from(await openParts(options));
  }

  /** The Vault made of `parts` (src/_vault-open.ts), its first audit record written. */
  static async #from(parts: VaultParts): Promise<Vault> {
    const { backend, vaultId, role, audit, now, tokenFile, onServer } = parts;
    const vault = new Vault(backend, vaultId, role, audit, now, tokenFile, onServer);
    if (parts.firstRecord) await vault.#record({ action: parts.firstRecord, outcome: 'ok' });
    return vault;
  }

  /** Switch to a token rotated into AGENT_VAULT_TOKEN_FILE (src/_agent-role.ts says which are taken). */
  async #followTokenFile(): Promise<void> {
    if (this.#role.kind !== 'agent' || !this.#follower) return;
    const next = await this.#follower.next(this.#role);
    if (!next || next === this.#role) return;
    this.#follower.retire(this.#role.credentials.agentKey, this.#auditKey);
    this.#role = next;
    this.#auditKey = auditKey(next.credentials.agentKey);
    this.#agent = new AgentAccess(next.guard, this.#vaultId, this.#reader, next.credentials, this.#now);
  }

  /** `owner`, or `agent` for a vault opened with a token. */
  get role(): 'owner' | 'agent' {
    return this.#role.kind;
  }

  /** The agent id for a vault opened with a token; undefined for the owner. */
  get agentId(): string | undefined {
    return this.#role.kind === 'agent' ? this.#role.credentials.agentId : undefined;
  }

  /** The vault's public id (hex), as it appears in audit records. */
  get id(): string {
    return bytesToHex(this.#vaultId);
  }

  // ---- reading secrets ----

  /**
   * Resolve `name` and hand its bytes to `fn`; the bytes are wiped when `fn` settles, whether it
   * resolves or throws. The preferred way to read a secret.
   */
  async use<T>(name: string, fn: (secret: SecretBuffer) => T | Promise<T>): Promise<T> {
    const secret = new SecretBuffer(await this.#resolve(name));
    try {
      return await fn(secret);
    } finally {
      secret.wipe();
    }
  }

  /**
   * Resolve `name` as a string. Strings cannot be wiped and stay in memory until the garbage
   * collector reuses it, so prefer `use()` where the consumer accepts bytes.
   */
  async get(name: string): Promise<string> {
    return this.use(name, (secret) => secret.text());
  }

  async #resolve(name: string): Promise<Uint8Array> {
    return this.#release(name, (sealed) => {
      const value = secretBytes(sealed.length);
      sealed.openInto(value);
      return { value, wipe: () => wipe(value) };
    });
  }

  /**
   * @internal For the hardened transport (adapters/transport/_hardened.ts). Runs every check of a
   * resolution now (grant, expiry, revocation, integrity of the stored value) and writes its
   * audit record, but decrypts nothing: it returns the value's length and `decryptInto(target)`,
   * which decrypts synchronously straight into the caller's bytes at the moment they are sent.
   * The caller wipes `target`; `dispose()` ends the preparation.
   */
  async _prepare(name: string): Promise<PreparedSecret> {
    return this.#release(name, (sealed) => {
      sealed.openInto(null);
      let live = true;
      const prepared: PreparedSecret = {
        length: sealed.length,
        decryptInto(target) {
          if (!live) throw new UsageError('This prepared secret was disposed; prepare it again.');
          sealed.openInto(target);
        },
        dispose() {
          live = false;
        },
      };
      return { value: prepared, wipe: () => prepared.dispose() };
    });
  }

  /** Locate `name` as owner or agent, hand it to `release`, and audit the outcome (fail closed). */
  async #release<T>(name: string, release: (sealed: SealedValue) => { value: T; wipe(): void }): Promise<T> {
    const canonical = canonicalName(name);
    await this.#followTokenFile();
    try {
      const sealed = this.#role.kind === 'owner'
        ? await this.#resolveAsOwner(canonical, this.#role)
        : await this.#agent!.resolve(canonical);
      const { value, wipe: undo } = release(sealed);
      try {
        await this.#record({ action: 'secret.resolve', name: canonical, version: sealed.version, outcome: 'ok' });
      } catch (error) {
        undo();
        throw error;
      }
      return value;
    } catch (error) {
      if (error instanceof VaultError && !(error instanceof AuditError)) {
        await this.#record({ action: 'secret.resolve', name: canonical, outcome: outcomeOf(error), reason: reasonOf(error) })
          .catch(() => undefined); // the denial stands either way; the original error says why
      }
      throw error;
    }
  }

  async #resolveAsOwner(name: string, role: OwnerRole): Promise<SealedValue> {
    const nameId = this.#reader.nameId(name, role.nameKey);
    const record = await this.#reader.read(nameId, name);
    const wrap = { key: role.ownerKey, wrapped: record.ownerWrap, ad: ad.ownerWrap(this.#vaultId, nameId, record.version), what: 'A stored secret' };
    return this.#reader.sealedValue(nameId, record, wrap);
  }

  // ---- owner: secrets ----

  /** Store a new version of `name` (string or bytes), granted to every active agent whose patterns match. */
  async set(name: string, value: string | Uint8Array): Promise<{ version: number }> {
    return this.#ownerOp('set a secret', (ops, context) => ops.setSecret(context, name, value));
  }

  /**
   * Names, versions, dates and grantees of every secret; never values. Each record is verified
   * in full (its value is opened and wiped at once), so no tampered metadata is ever listed.
   */
  async list(): Promise<SecretInfo[]> {
    return this.#ownerOp('list secrets', (ops, context) => ops.listSecrets(context));
  }

  /** Delete `name` and every grant of it. */
  async delete(name: string): Promise<void> {
    return this.#ownerOp('delete a secret', (ops, context) => ops.deleteSecret(context, name));
  }

  // ---- owner: agents ----

  /** Create an agent and return its token, shown this once (it is not stored anywhere). */
  async createAgent(id: string, options: CreateAgentOptions): Promise<{ token: string; agent: AgentInfo }> {
    return this.#ownerOp('create an agent', (ops, context) => ops.createAgent(context, id, options));
  }

  async listAgents(): Promise<AgentInfo[]> {
    return this.#ownerOp('list agents', (ops, context) => ops.listAgents(context));
  }

  /** Revoke an agent: its token stops working on its next request and its grants are removed. */
  async revokeAgent(id: string): Promise<void> {
    return this.#ownerOp('revoke an agent', (ops, context) => ops.revokeAgent(context, id));
  }

  /**
   * Issue a new token for an agent (same patterns). The old token stops working at once, or with
   * `grace` (a duration like `'15m'`, or milliseconds) keeps its scope that long (never past its
   * own expiry), so a running agent can switch without downtime; the new token works at once.
   * The new token lives `ttl`, default the same length of time as the old one was given. A
   * rotation during a grace replaces it: the oldest token stops at once. In embedded mode the end
   * of a grace is checked by the agent's library, like expiry (advisory against a copy of the
   * vault directory); the next owner operation after it removes the old token's wrapped keys.
   */
  async rotateAgent(
    id: string, options: { ttl?: string | number; grace?: string | number } = {},
  ): Promise<{ token: string; agent: AgentInfo }> {
    return this.#ownerOp('rotate an agent', (ops, context) => ops.rotateAgent(context, id, options));
  }

  /**
   * Change an agent's patterns (`allow`) or lifetime (`ttl`, from now) and keep its token: the
   * running agent sees the change at its next request, and holds keys for exactly what it may now
   * read. To cut off a token that may have leaked, rotate or revoke instead.
   */
  async updateAgent(id: string, options: UpdateAgentOptions): Promise<AgentInfo> {
    return this.#ownerOp('update an agent', (ops, context) => ops.updateAgent(context, id, options));
  }

  // ---- owner: the vault ----

  /**
   * Lock the root key under a new passphrase or key file (`agent-vault passwd`). Nothing else
   * changes: agent tokens, grants and secrets stay valid, and the old passphrase stops working.
   */
  async changeUnlock(next: Pick<CreateVaultOptions, 'passphrase' | 'keyFile' | 'passphraseParams'>): Promise<void> {
    return this.#ownerOp('change how the vault is unlocked', (ops, context) => ops.changeUnlock(context, next));
  }

  /**
   * An encrypted backup of every record, header and signed state included (`agent-vault backup`):
   * opened only by this vault's passphrase or key file as it is now, restored with `restoreVault`.
   * Not the audit log.
   */
  async backup(): Promise<Uint8Array> {
    return this.#ownerOp('back up the vault', (ops, context) => ops.backup(context));
  }

  // ---- owner: audit ----

  /**
   * Check the audit log: the hash chain and every writer's MAC (the owner re-derives each agent's
   * audit key), trimming a torn last line and recording that. Owner only. The log must extend the
   * head the vault's signed state anchored at the last owner operation (or `{ anchor }`, when
   * given): records cut or rewritten up to there are reported; ones after it can still be removed
   * unseen by a writer of the log, so keep `report.last` somewhere the writers cannot reach too.
   */
  async verifyAudit(options: AuditVerifyOptions = {}): Promise<AuditReport> {
    return this.#ownerOp('verify the audit log', (ops, context) => ops.verifyAudit(context, options));
  }

  /** Audit records matching `filter`, newest first, streamed. Owner only; does not verify (see verifyAudit). */
  readAudit(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    const context = this.#ownerContext('read the audit log');
    return {
      async *[Symbol.asyncIterator]() {
        yield* (await ownerOps()).readAudit(context, filter);
      },
    };
  }

  // ---- plumbing ----

  #owner(what: string): OwnerRole {
    if (this.#role.kind !== 'owner') {
      throw new AccessDeniedError('owner-only', `Only the vault owner can ${what}; this vault was opened with an agent token.`);
    }
    return this.#role;
  }

  /** An owner operation: refused for an agent before anything loads, then run from the owner's module. */
  async #ownerOp<T>(what: string, run: (ops: OwnerOps, context: OwnerContext) => Promise<T>): Promise<T> {
    const context = this.#ownerContext(what);
    return run(await ownerOps(), context);
  }

  #ownerContext(what: string): OwnerContext {
    const role = this.#owner(what);
    return {
      role, backend: this.#backend, onServer: this.#onServer, now: this.#now,
      locked: (fn) => this.#locked(fn), record: (event) => this.#record(event),
      nameId: (name) => this.#reader.nameId(name, role.nameKey), audit: this.#audit, auditKey: this.#auditKey, id: this.id,
    };
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.#backend.withLock ? this.#backend.withLock(fn) : fn();
  }

  async #record(event: Omit<AuditEvent, 'actor' | 'generation'>): Promise<void> {
    if (!this.#audit) return;
    const [actor, generation] = this.#role.kind === 'owner'
      ? ['owner', 0]
      : [`agent:${this.#role.credentials.agentId}`, this.#role.credentials.generation];
    try {
      // Names are sealed to the owner before any sink sees them (audit/_names.ts).
      const name = event.name === undefined ? undefined : sealName(event.name, this.#auditKey, this.id);
      await this.#audit.append({ actor, generation, ...event, name }, { vaultId: this.id, macKey: this.#auditKey, now: this.#now() });
    } catch (cause) {
      throw new AuditError(
        'The audit record could not be written, so nothing was released. ' +
          (cause instanceof AuditError ? cause.message : 'Check that the audit log is writable and the disk has space.'),
        { cause },
      );
    }
  }

  /**
   * @internal For the broker (src/broker/): one `broker.request` record (a proxied request) or
   * `broker.key` record (a phantom key minted or revoked) in this vault's name, chained and MACed
   * like every other; rejects (fail closed) when it cannot be written.
   */
  async _auditBroker(event: Pick<AuditEvent, 'name' | 'outcome' | 'reason' | 'note'> & { action: 'broker.request' | 'broker.key' }): Promise<void> {
    await this.#record(event);
  }

  /**
   * @internal For import's backups (src/scan/_sealer.ts): the owner's keys that seal the files
   * import rewrites and authenticate its manifest. Owner only, so an agent can never read a
   * backup back; fresh copies, which the caller wipes.
   */
  _importKeys(): { seal: Uint8Array; mac: Uint8Array } {
    const role = this.#owner('back up or restore the files import rewrites');
    return { seal: importSealKey(role.rootKey), mac: importMacKey(role.rootKey) };
  }

  /** Release handles (backend connections, audit files) and wipe the keys this object holds. */
  async close(): Promise<void> {
    await this.#audit?.close?.();
    await this.#backend.close?.();
    if (this.#role.kind === 'owner') (await import('./_owner-role.ts')).wipeOwner(this.#role);
    else wipe(this.#role.credentials.agentKey);
    this.#follower?.wipe();
    wipe(this.#auditKey);
  }

  toJSON(): object {
    return { vault: this.id, role: this.role, agentId: this.agentId };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Vault <${this.role}${this.agentId ? ` ${this.agentId}` : ''} ${this.id}>`;
  }
}

/**
 * The owner's operations, loaded on the first one: an agent never runs them, and they (with the
 * owner's store, records and backups behind them) were a quarter of the code importing
 * `agent-vault` compiled.
 */
function ownerOps(): Promise<OwnerOps> {
  return import('./_owner-ops.ts');
}

type OwnerOps = typeof import('./_owner-ops.ts');

function outcomeOf(error: VaultError): 'denied' | 'error' {
  return error.code === 'ACCESS_DENIED' || error.code === 'TOKEN_EXPIRED' ? 'denied' : 'error';
}

function reasonOf(error: VaultError): string {
  return error instanceof AccessDeniedError ? error.reason : error.code;
}

/** Create a new vault. Owner side; run once (the CLI's `agent-vault init`). */
export function createVault(options: CreateVaultOptions): Promise<Vault> {
  return Vault._create(options);
}

/** Open a vault as its owner (passphrase or key file) or as an agent (token, or the environment). */
export function openVault(options: OpenVaultOptions = {}): Promise<Vault> {
  return Vault._open(options);
}
