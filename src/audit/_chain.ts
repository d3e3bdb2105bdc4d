/**
 * The audit record format and the chain check, shared by every sink that stores lines.
 *
 * A record is one line of JSON, keys in this order, optional ones left out when absent:
 *
 *   {"seq":7,"time":"2026-03-01T12:00:00.000Z","vault":"<32 hex>","actor":"agent:bot","generation":1,
 *    "action":"secret.resolve","name":"openai-api-key","version":2,"outcome":"ok","reason":"…",
 *    "note":"…","prev":"<64 hex>","mac":"<64 hex>"}
 *
 * `mac` = keyed BLAKE2b-256 under the writer's audit key over the line's bytes up to (not
 * including) `,"mac":` — so every other field, `prev` included, is covered. `prev` = BLAKE2b-256
 * of the previous line's bytes (without its newline), or for seq 1 of a genesis label bound to
 * the vault id, so a log cannot be spliced from another vault's. The MAC covers exact bytes, so
 * verification never depends on re-serialising JSON the same way.
 */
import type { AuditEvent, AuditKeyring, AuditProblem, AuditRecord, AuditReport } from './index.ts';
import { AUDIT_ACTIONS } from './index.ts';
import { bytesToHex, hexInto, hexToBytes } from '../_bytes.ts';
import { constantTimeEqual, digest, encodeParts, mac, utf8 } from '../crypto.ts';
import { AuditError } from '../errors.ts';

const HASH_BYTES = 32;
const MAC_HEAD = ',"mac":"';
/** `,"mac":"` + 64 hex + `"}` */
const MAC_SUFFIX_BYTES = MAC_HEAD.length + 2 * HASH_BYTES + 2;
const HEX64 = /^[0-9a-f]{64}$/;
const VAULT_HEX = /^[0-9a-f]{2,128}$/;
const OUTCOMES = new Set(['ok', 'denied', 'error']);
const ACTIONS = new Set<string>(AUDIT_ACTIONS);
const FIELDS = new Set([
  'seq', 'time', 'vault', 'actor', 'generation', 'action', 'name', 'version', 'outcome', 'reason', 'note', 'prev', 'mac',
]);
/**
 * A record line is a few hundred bytes; anything longer than this is not one of ours. Readers
 * skip such a line without keeping it, and the verifier reports it as `modified`.
 */
export const MAX_LINE_BYTES = 8192;

/** BLAKE2b-256 of one line's bytes: what the next record's `prev` holds. */
export function lineHash(line: Uint8Array): string {
  return bytesToHex(digest(line, HASH_BYTES));
}

/** `prev` of seq 1. */
export function genesisHash(vaultId: string): string {
  return bytesToHex(digest(encodeParts('agent-vault/audit/genesis/v1', [vaultId]), HASH_BYTES));
}

/**
 * The line for `event` as record `seq` after `prev`, MACed under `macKey`: `line` ends with its
 * newline (what a file sink writes, in one buffer), `bytes` is the same memory without it.
 *
 * The JSON is spelled out field by field, so nothing but these fields (never a value or a token)
 * can reach the log, and each string goes through JSON.stringify, so the bytes are exactly what
 * JSON.stringify of the record object gives (test/audit/seal.test.ts holds it to that). Built as
 * one string, encoded once into a buffer with room for the MAC, which is written into it in hex:
 * about 4 µs a record here, 2.4 of them the two BLAKE2b calls (MAC, line hash). `allocate` makes
 * that buffer, and the record fills it to its last byte: the file sink passes Buffer.allocUnsafe
 * (pooled, unzeroed), a fresh Uint8Array costing about 1 µs more.
 */
export function sealRecord(
  event: AuditEvent, seq: number, now: number, vaultId: string, prev: string, macKey: Uint8Array,
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): { line: Uint8Array; bytes: Uint8Array; hash: string } {
  const problem = eventProblem(event);
  if (problem) throw new TypeError(`Not a valid audit event: ${problem}.`);
  // action and outcome were checked against their lists (plain ASCII); numbers are integers.
  let head = `{"seq":${seq},"time":"${isoTime(now)}","vault":${quoted(vaultId)},` +
    `"actor":${quoted(event.actor)},"generation":${event.generation},"action":"${event.action}"`;
  if (event.name !== undefined) head += `,"name":${JSON.stringify(event.name)}`;
  if (event.version !== undefined) head += `,"version":${event.version}`;
  head += `,"outcome":"${event.outcome}"`;
  if (event.reason !== undefined) head += `,"reason":${JSON.stringify(event.reason)}`;
  if (event.note !== undefined) head += `,"note":${JSON.stringify(event.note)}`;
  head += `,"prev":${JSON.stringify(prev)}`;
  // Room for the head as ASCII (nearly every record), else its exact UTF-8 length.
  let line = allocate(head.length + MAC_SUFFIX_BYTES + 1);
  const ascii = utf8.encoder.encodeInto(head, line);
  let headBytes = head.length;
  if (ascii.read !== head.length || ascii.written !== head.length) {
    const encoded = utf8.encode(head);
    line = allocate(encoded.length + MAC_SUFFIX_BYTES + 1);
    line.set(encoded);
    headBytes = encoded.length;
  }
  const tag = mac(macKey, line.subarray(0, headBytes), HASH_BYTES);
  let at = headBytes;
  for (let i = 0; i < MAC_HEAD.length; i++) line[at++] = MAC_HEAD.charCodeAt(i);
  at = hexInto(tag, line, at);
  line[at++] = 0x22; // "
  line[at++] = 0x7d; // }
  line[at] = 0x0a; // \n
  const bytes = line.subarray(0, at);
  return { line, bytes, hash: lineHash(bytes) };
}

/**
 * `new Date(now).toISOString()`, which costs about 0.9 µs: a writer's records mostly fall in one
 * minute, so the text up to the minute is kept and only seconds and milliseconds are written.
 */
function isoTime(now: number): string {
  const time = Math.trunc(now); // as Date does
  const minute = Math.floor(time / 60_000);
  if (minute !== isoMinute.minute || !(Math.abs(time) <= MAX_TIME)) {
    const iso = new Date(time).toISOString(); // throws RangeError on an invalid time, as before
    isoMinute = { minute, prefix: iso.slice(0, -7) }; // up to "mm:"
    return iso;
  }
  const within = time - minute * 60_000;
  const seconds = Math.floor(within / 1000);
  const millis = within % 1000;
  return `${isoMinute.prefix}${seconds < 10 ? '0' : ''}${seconds}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
/** The largest time a Date holds (ECMA-262 §21.4.1.1). */
const MAX_TIME = 8.64e15;
let isoMinute = { minute: Number.NaN, prefix: '' };

/** JSON.stringify of a string, remembering the last two (a writer's vault id and actor repeat). */
function quoted(text: string): string {
  if (text === quotedCache[0]) return quotedCache[1];
  if (text === quotedCache[2]) return quotedCache[3];
  const json = JSON.stringify(text);
  quotedCache = [text, json, quotedCache[0], quotedCache[1]];
  return json;
}
let quotedCache: [string, string, string, string] = ['', '""', '', '""'];

/**
 * Only the owner starts a log (see ChainVerifier): an agent appending to a missing or empty log
 * is refused, fail closed, rather than starting one the owner's verify would then reject.
 */
export function cannotStartLog(event: AuditEvent, path: string): AuditError | undefined {
  if (event.actor === 'owner') return undefined;
  return new AuditError(
    `The audit log ${path} is missing or empty, and only the owner starts a log (a log of an agent's records ` +
      'alone is how a replaced log looks). Open the vault as the owner once (any owner command, e.g. ' +
      '`agent-vault list`), then retry. If the log was there before, it was removed: restore it from a backup.',
  );
}

/** Why `event` cannot be recorded as it is, or undefined. */
export function eventProblem(event: AuditEvent): string | undefined {
  if (typeof event.actor !== 'string' || event.actor.length === 0) return 'actor must be a non-empty string';
  if (!Number.isInteger(event.generation) || event.generation < 0) return 'generation must be an integer >= 0';
  if (!ACTIONS.has(event.action)) return `unknown action ${JSON.stringify(event.action)}`;
  if (!OUTCOMES.has(event.outcome)) return `unknown outcome ${JSON.stringify(event.outcome)}`;
  if (event.name !== undefined && typeof event.name !== 'string') return 'name must be a string';
  if (event.version !== undefined && !Number.isInteger(event.version)) return 'version must be an integer';
  if (event.reason !== undefined && typeof event.reason !== 'string') return 'reason must be a string';
  if (event.note !== undefined && typeof event.note !== 'string') return 'note must be a string';
  return undefined;
}

export type ParsedLine =
  | { ok: true; record: AuditRecord; macInput: Uint8Array }
  | { ok: false; why: string };

/** Parse and type-check one line; says why when it is not a record. Checks no MAC. */
export function parseLine(line: Uint8Array): ParsedLine {
  if (line.length > MAX_LINE_BYTES) return { ok: false, why: `it is ${line.length} bytes long` };
  const macAt = line.length - MAC_SUFFIX_BYTES;
  if (macAt < 2 || line[line.length - 1] !== 0x7d || line[line.length - 2] !== 0x22 ||
    utf8.decode(line.subarray(macAt, macAt + MAC_HEAD.length)) !== MAC_HEAD) {
    return { ok: false, why: 'it does not end with a "mac" field' };
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(line));
  } catch {
    return { ok: false, why: 'it is not valid UTF-8 JSON' };
  }
  const why = recordProblem(value);
  if (why) return { ok: false, why };
  return { ok: true, record: value as AuditRecord, macInput: line.subarray(0, macAt) };
}

function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!FIELDS.has(key)) return `it has an unknown field "${key}"`;
  if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 1) return 'seq is not a positive integer';
  if (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time))) return 'time is not a date';
  if (typeof record.vault !== 'string' || !VAULT_HEX.test(record.vault)) return 'vault is not a vault id';
  if (typeof record.prev !== 'string' || !HEX64.test(record.prev)) return 'prev is not a hash';
  if (typeof record.mac !== 'string' || !HEX64.test(record.mac)) return 'mac is not a MAC';
  return eventProblem(record as unknown as AuditEvent);
}

/** More problems than this in one log are not listed one by one (the first is always kept). */
const MAX_PROBLEMS = 100;

/** Where the chain stood before a run of bad lines, to pick it up again after them. */
interface Resync {
  /** The last record that verified in place, and its hash. */
  lastSeq: number;
  lastHash: string;
  /** The seq of the latest bad line, when it parsed: a record may follow it. */
  badSeq: number | undefined;
  badLines: number;
}

/**
 * Checks complete lines in order. A problem is reported and checking goes on: the lines after a
 * bad one are still checked (each against its writer's MAC), and the chain picks up at the next
 * record that verifies, silently when it follows what came before (the bad line was a damaged
 * record, or junk inserted between two), else with a second problem naming the gap. So one
 * malformed line costs one problem, not every record after it. `check` takes the line after the
 * current one too (when there is one), to tell two swapped records from a deletion.
 *
 * A log must start with an owner record (the vault's creation or an owner's open): an agent
 * holds no key to make one, so a log it started afresh, or replaced from genesis, fails here.
 */
export class ChainVerifier {
  readonly #vaultId: string;
  readonly #keys: AuditKeyring;
  readonly #anchor: { seq: number; hash: string } | undefined;
  #expected = 1;
  #prev: string;
  #line = 0;
  #resync: Resync | undefined;
  /** Records verified before the first problem, and the last of them: what `records` and `last` report. */
  #beforeProblem: { seq: number; hash: string } | undefined;
  /** The first 8 bytes of each verified record's hash, by seq: tells a copy from a different record. */
  #prefixes = new Uint8Array(8 * 1024);
  readonly problems: AuditProblem[] = [];
  readonly recoveries: AuditRecord[] = [];

  constructor(vaultId: string, keys: AuditKeyring, anchor?: { seq: number; hash: string }) {
    this.#vaultId = vaultId;
    this.#keys = keys;
    this.#anchor = anchor;
    this.#prev = genesisHash(vaultId);
  }

  /** The first problem found, if any. */
  get problem(): AuditProblem | undefined {
    return this.problems[0];
  }

  /** The number of records verified before the first problem, and the hash of the last. */
  get last(): { seq: number; hash: string } {
    return this.#beforeProblem ?? { seq: this.#expected - 1, hash: this.#prev };
  }

  /** Returns false when this line is not a record in its place (the problem is recorded). */
  check(line: Uint8Array, next?: Uint8Array): boolean {
    this.#line++;
    const at = this.#expected;
    const parsed = parseLine(line);
    if (!parsed.ok) return this.#bad(undefined, 'modified', at, `is not a well-formed audit record (${parsed.why})`);
    const { record } = parsed;
    if (record.vault !== this.#vaultId) {
      return this.#bad(undefined, 'wrong-vault', at, `belongs to vault ${record.vault}, not this vault (${this.#vaultId})`);
    }
    const claimed = this.#keys.keyFor(record.actor, record.generation);
    const tag = hexToBytes(record.mac);
    if (!claimed || !constantTimeEqual(mac(claimed, parsed.macInput, HASH_BYTES), tag)) {
      for (const writer of this.#keys.known()) {
        if (writer.key !== claimed && constantTimeEqual(mac(writer.key, parsed.macInput, HASH_BYTES), tag)) {
          return this.#bad(undefined, 'forged', at, `claims to be by ${who(record)} but was made by ${who(writer)}`);
        }
      }
      return this.#bad(undefined, 'modified', at,
        `does not verify under the key of ${who(record)}: it was changed after it was written, or forged`);
    }
    const hashBytes = digest(line, HASH_BYTES);
    const hash = bytesToHex(hashBytes);
    if (this.#resync) return this.#resume(record, hashBytes, hash);
    if (record.seq > at) {
      const nextSeq = next && parseLine(next);
      if (nextSeq?.ok && nextSeq.record.seq === at) {
        return this.#bad(record.seq, 'reordered', at, `holds record ${record.seq} where record ${at} belongs (records swapped)`);
      }
      const missing = record.seq === at + 1 ? `record ${at} is` : `records ${at}-${record.seq - 1} are`;
      return this.#bad(record.seq, 'deleted', at, `holds record ${record.seq}: ${missing} missing (deleted, or moved later)`);
    }
    if (record.seq < at) {
      if (this.#samePrefix(record.seq, hashBytes)) {
        return this.#bad(record.seq, 'duplicated', at, `is a copy of record ${record.seq}`);
      }
      return this.#bad(record.seq, 'inserted', record.seq, `is a second, different record ${record.seq}: one of the two was inserted`);
    }
    if (record.prev !== this.#prev) {
      if (at === 1) return this.#bad(1, 'inserted', 1, "does not start this vault's log: it was taken from another log");
      return this.#bad(record.seq, 'inserted', at - 1,
        `does not follow the record before it: record ${at - 1} was replaced by another writer's record, or inserted`);
    }
    if (at === 1 && record.actor !== 'owner') {
      return this.#bad(1, 'replaced', 1,
        `is by ${who(record)}, but every log starts with an owner record: this log was started afresh or replaced ` +
          'by a writer who is not the owner');
    }
    return this.#accept(record, hashBytes, hash);
  }

  /** A line too long to be a record, skipped unread (_lines.ts). */
  checkOverlong(bytes: number): false {
    this.#line++;
    return this.#bad(undefined, 'modified', this.#expected,
      `is not a well-formed audit record (it is ${bytes} bytes long; no record is over ${MAX_LINE_BYTES})`);
  }

  /** The verdict on everything checked, including whether the log still reaches the anchor. */
  finish(): Omit<AuditReport, 'torn'> {
    const reached = this.#expected - 1;
    if (this.#anchor && this.#anchor.seq > reached) {
      this.#report('truncated', reached + 1,
        `The audit log ends at record ${reached}, but the anchor says record ${this.#anchor.seq} existed: ` +
          'the newest records were removed.', this.#line + 1);
    }
    const last = this.last;
    return { ok: this.problems.length === 0, records: last.seq, last, problem: this.problem, problems: this.problems,
      recoveries: this.recoveries };
  }

  /** A verified record in its place: check it against the anchor, and move the chain on to it. */
  #accept(record: AuditRecord, hashBytes: Uint8Array, hash: string): boolean {
    if (this.#anchor && this.#anchor.seq === record.seq && this.#anchor.hash !== hash) {
      this.#report('truncated', record.seq, `Line ${this.#line} of the audit log is not the record the anchor names ` +
        `(hash ${this.#anchor.hash.slice(0, 16)}…): the log was cut and written again, or replaced.`);
    }
    if (record.action === 'audit.recover') this.recoveries.push(record);
    this.#remember(record.seq, hashBytes);
    this.#prev = hash;
    this.#expected = record.seq + 1;
    return true;
  }

  /** The first record that verifies after bad lines: the chain picks up here. */
  #resume(record: AuditRecord, hashBytes: Uint8Array, hash: string): boolean {
    const gap = this.#resync!;
    this.#resync = undefined;
    // After a modified line only the seq can be checked: the record's prev is the hash of the line
    // as it was written, which the modification destroyed.
    const followsBad = record.seq === (gap.badSeq ?? gap.lastSeq + gap.badLines) + 1;
    const followsLast = record.prev === gap.lastHash && record.seq === gap.lastSeq + 1;
    if (!followsBad && !followsLast) {
      this.#report(record.seq > gap.lastSeq + 1 ? 'deleted' : 'inserted', record.seq,
        `resumes the chain at record ${record.seq}, but does not follow record ${gap.lastSeq} (the last before the bad ` +
          'lines): records were removed or rewritten there');
    }
    return this.#accept(record, hashBytes, hash) && (followsBad || followsLast);
  }

  /** A line that is not a record in its place: report it (once per run of bad lines) and resync after it. */
  #bad(seq: number | undefined, kind: AuditProblem['kind'], at: number, what: string): false {
    if (this.#resync) {
      this.#resync.badSeq = seq;
      this.#resync.badLines++;
      return false;
    }
    this.#report(kind, at, `Line ${this.#line} of the audit log ${what}.`);
    this.#resync = { lastSeq: this.#expected - 1, lastHash: this.#prev, badSeq: seq, badLines: 1 };
    return false;
  }

  /** Returns true (so callers can write `return !this.#report(...)`). */
  #report(kind: AuditProblem['kind'], seq: number, message: string, line = this.#line): true {
    this.#beforeProblem ??= { seq: this.#expected - 1, hash: this.#prev };
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ kind, seq, line, message });
    return true;
  }

  #remember(seq: number, hash: Uint8Array): void {
    // A seq far beyond the lines read is a hostile record's (no log skips that many): keeping it
    // would allocate by what the attacker wrote.
    if (seq > this.#line + 4096) return;
    if (8 * (seq + 1) > this.#prefixes.length) {
      const grown = new Uint8Array(Math.max(this.#prefixes.length * 2, 8 * (seq + 1)));
      grown.set(this.#prefixes);
      this.#prefixes = grown;
    }
    this.#prefixes.set(hash.subarray(0, 8), 8 * seq);
  }

  #samePrefix(seq: number, hash: Uint8Array): boolean {
    if (8 * (seq + 1) > this.#prefixes.length) return false;
    for (let i = 0; i < 8; i++) if (this.#prefixes[8 * seq + i] !== hash[i]) return false;
    return true;
  }
}

function who(writer: { actor: string; generation: number }): string {
  return writer.actor === 'owner' ? 'the owner' : `${writer.actor} (generation ${writer.generation})`;
}
