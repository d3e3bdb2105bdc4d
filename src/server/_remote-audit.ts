/**
 * The audit of a server vault, as the core sees it. The server writes every agent's records
 * itself, before it releases anything, so an agent's own appends are dropped here: a
 * compromised agent cannot skip or rewrite them. The owner's events are sent with their names
 * replaced by the opaque ids the server already knows (a secret's name id, an agent's locator),
 * so the server never holds a name. Reading and verifying fetch the chain and check it here,
 * with the audit key the owner re-derives; names are put back for display.
 */
import { ChainVerifier, parseLine } from '../audit/_chain.ts';
import { auditMatcher, STOP } from '../audit/_filter.ts';
import type {
  AuditContext, AuditEvent, AuditFilter, AuditKeyring, AuditRecord, AuditReport, AuditSink, AuditVerifyContext, AuditVerifyOptions,
} from '../audit/index.ts';
import { utf8 } from '../crypto.ts';
import { UsageError } from '../errors.ts';
import type { ServerClient } from './_client.ts';

/** What the owner's side adds once unlocked. */
export interface OwnerAudit {
  auditKey: Uint8Array;
  /** The opaque id the server may see in place of `event.name`. */
  ref(event: AuditEvent): string | undefined;
  /** Opaque id → name, for every secret and agent of the vault now. */
  names(): Promise<Map<string, string>>;
}

const PAGE = 1000;

export class RemoteAuditSink implements AuditSink {
  readonly #client: ServerClient;
  readonly #vault: string;
  #owner: OwnerAudit | undefined;

  constructor(client: ServerClient, vaultHex: string) {
    this.#client = client;
    this.#vault = vaultHex;
  }

  unlock(owner: OwnerAudit): void {
    this.#owner = owner;
  }

  async append(event: AuditEvent, _context: AuditContext): Promise<void> {
    // The server wrote the agent's record already, and vault.create with the vault.
    if (!this.#owner || event.actor !== 'owner' || event.action === 'vault.create') return;
    const name = this.#owner.ref(event);
    await this.#client.call('POST', '/v1/audit', {
      events: [{ action: event.action, name, version: event.version, outcome: event.outcome, reason: event.reason, note: event.note }],
    });
  }

  async *read(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    const owner = this.#need();
    const matcher = auditMatcher(filter);
    if (matcher.limit === 0) return;
    const names = await owner.names();
    const records: AuditRecord[] = [];
    for await (const line of this.#lines()) {
      const parsed = parseLine(line);
      if (parsed.ok) records.push(named(parsed.record, names));
    }
    let count = 0;
    for (const record of records.reverse()) {
      const match = matcher.match(JSON.stringify(record));
      if (match === STOP) return;
      if (match === undefined) continue;
      yield match;
      if (++count >= matcher.limit) return;
    }
  }

  async verify(_context: AuditVerifyContext, options: AuditVerifyOptions = {}): Promise<AuditReport> {
    const owner = this.#need();
    const verifier = new ChainVerifier(this.#vault, serverKeyring(owner.auditKey), options.anchor);
    let previous: Uint8Array | undefined;
    for await (const line of this.#lines()) {
      if (previous) verifier.check(previous, line);
      previous = line;
    }
    if (previous) verifier.check(previous);
    return verifier.finish();
  }

  async *#lines(): AsyncIterable<Uint8Array> {
    for (let after = 0; ;) {
      const { lines } = await this.#client.call<{ lines: unknown }>('GET', `/v1/audit?after=${after}&limit=${PAGE}`);
      const page = Array.isArray(lines) ? lines.filter((l): l is string => typeof l === 'string') : [];
      for (const line of page) yield utf8.encode(line);
      if (page.length < PAGE) return;
      after += page.length;
    }
  }

  #need(): OwnerAudit {
    if (!this.#owner) throw new UsageError('Only the vault owner can read or verify the server\'s audit log.');
    return this.#owner;
  }
}

/** Every record of a server log is MACed by the server, under the one key the owner handed it. */
function serverKeyring(key: Uint8Array): AuditKeyring {
  return {
    keyFor: () => key,
    known: () => [{ actor: 'server', generation: 0, key }],
    wipe: () => undefined,
  };
}

/** A record with its opaque ids shown as names (`agent:<loc>` → `agent:<id>`). */
function named(record: AuditRecord, names: Map<string, string>): AuditRecord {
  const agent = /^agent:([0-9a-f]{32})$/.exec(record.actor)?.[1];
  const actor = agent && names.has(agent) ? `agent:${names.get(agent)}` : record.actor;
  const name = record.name !== undefined ? (names.get(record.name) ?? record.name) : undefined;
  return { ...record, actor, ...(name === undefined ? {} : { name }) };
}
