/**
 * The default audit sink: `audit.jsonl` (mode 0600) in the vault directory, one record per line
 * (format in _chain.ts), appended by every process that opens the vault.
 *
 * Appending takes a cross-process lock (_lock.ts), so records from several processes never
 * interleave and sequence numbers stay contiguous; the sink keeps it while this process keeps
 * appending (_append-lock.ts: until it has been idle 2 ms, 20 ms at most, or another process
 * waits). Each sink remembers the log's tail (inode, size, last seq and hash): when the file is
 * as it left it, an append is one stat and one write (plus the lock's link, and its unlink later,
 * when the lock was taken afresh); only when another process wrote does it read back the last line.
 *
 * Reading (verify, read) trusts nothing about the file: a line longer than any record
 * (MAX_LINE_BYTES, 8 KiB) is skipped as it streams past, in constant memory (verify reports it as
 * `modified`, read leaves it out, as it does any line it cannot parse), and anything at the log's
 * path that is not a regular file (a FIFO, a device, a directory) is refused before it is read.
 */
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type {
  AuditContext, AuditEvent, AuditFilter, AuditRecord, AuditReport, AuditSink, AuditVerifyContext, AuditVerifyOptions,
} from './index.ts';
import { cannotStartLog, ChainVerifier, eventProblem, genesisHash, sealRecord } from './_chain.ts';
import { auditMatcher, STOP } from './_filter.ts';
import { ioError, notAFile, openForReading, readTail, unsafeLog } from './_log-file.ts';
import { blocksBackward, candidates, type ForwardLine, linesForward, timeOf } from './_lines.ts';
import { AppendLock } from './_append-lock.ts';
import { LockTimeoutError } from './_lock.ts';
import { AuditError, UsageError, type VaultError } from '../errors.ts';
import { NO_FOLLOW, NON_BLOCK, syncDirectorySync, unsafeBecause } from '../_fs.ts';

/**
 * When an append resolves (and so when a secret is released), the record has survived:
 * - `'write'`: a process crash (one write() per record, into the OS page cache). A power loss or
 *   kernel crash can lose the last few seconds of records. The default: it costs a few
 *   microseconds, where an fsync costs about as much as the resolution itself or more.
 * - `'fsync'`: a power loss too (fdatasync before the lock is released, per record). Appends from
 *   all processes then queue behind each other's flushes.
 * - `'group'`: a power loss too, like `'fsync'`, but the flush happens after the lock is released
 *   and concurrent appends in one process share one flush (group commit): the same promise at a
 *   fraction of the cost under concurrency.
 */
export type AuditDurability = 'write' | 'fsync' | 'group';

export interface FileAuditSinkOptions {
  /** The vault directory: the log is `<dir>/audit.jsonl`. Created (mode 0700) when missing. */
  dir: string;
  /** See AuditDurability. Default: `AGENT_VAULT_AUDIT_DURABILITY`, else `'write'`. */
  durability?: AuditDurability;
  /** How long an append waits for another process's append before failing closed. Default 10 000 ms. */
  lockTimeoutMs?: number;
  /**
   * A lock not released for this long by a process we cannot see (another host) is abandoned;
   * a lock whose pid is dead on this host is removed at once. Default 10 000 ms.
   */
  staleLockMs?: number;
}

export interface FileAuditSink extends Required<AuditSink> {
  /** The log file's path. */
  readonly path: string;
  readonly durability: AuditDurability;
}

export const AUDIT_FILE_NAME = 'audit.jsonl';

const DURABILITIES: readonly AuditDurability[] = ['write', 'fsync', 'group'];
const fdatasync = promisify(fs.fdatasync);

interface Tail {
  ino: number;
  /** Bytes of complete records. */
  size: number;
  seq: number;
  hash: string;
}

export function fileAuditSink(options: FileAuditSinkOptions): FileAuditSink {
  if (typeof options?.dir !== 'string' || options.dir === '') {
    throw new UsageError('fileAuditSink needs { dir }: the vault directory.');
  }
  const dir = resolve(options.dir);
  const path = join(dir, AUDIT_FILE_NAME);
  const durability = options.durability ?? durabilityFromEnv();
  if (!DURABILITIES.includes(durability)) {
    throw new UsageError(`Audit durability must be one of ${DURABILITIES.join(', ')}; got "${durability}".`);
  }
  const lockOptions = {
    path: `${path}.lock`,
    timeoutMs: options.lockTimeoutMs ?? 10_000,
    staleMs: options.staleLockMs ?? 10_000,
  };
  let fd: number | undefined;
  let fdIno = -1;
  let tail: Tail | undefined;
  // Appends from this sink queue here rather than polling the lock file against each other.
  let queue: Promise<unknown> = Promise.resolve();
  const lock = new AppendLock(lockOptions);
  let closed = false;
  let dirReady = false;
  // Group commit: the flush in flight, and the one that will start when it ends.
  let flushing: Promise<void> | undefined;
  let nextFlush: Promise<void> | undefined;

  function serially<T>(fn: () => T | Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new UsageError('This audit sink was closed.'));
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  }

  /** `fn` under the lock (kept across a burst, _append-lock.ts); synchronous when nothing waits. */
  function locked<T>(fn: () => T | Promise<T>): T | Promise<T> {
    // Errors from `fn` pass through; ones from taking the lock say so.
    let started = false;
    const failed = (error: unknown): never => {
      throw started ? error : lockError(error, lockOptions.path);
    };
    try {
      if (!dirReady) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      dirReady = true;
      const result = lock.run(() => {
        started = true;
        return fn();
      });
      return result instanceof Promise ? result.catch(failed) : result;
    } catch (error) {
      return failed(error);
    }
  }

  /** The open log, reopened when the file at `path` was replaced or removed; returns its stats. */
  function openLog(): fs.Stats {
    // lstat: a symlink in the log's place (dangling, say) is refused, never followed or created through.
    const current = fs.lstatSync(path, { throwIfNoEntry: false });
    if (fd !== undefined && current?.ino === fdIno) return current;
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
    if (current && !current.isFile()) throw notAFile(path, current, 'append to');
    // 'a+' with O_NOFOLLOW (a symlink swapped in meanwhile fails with ELOOP) and O_NONBLOCK (a FIFO
    // swapped in does not block the open).
    const opened = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | NO_FOLLOW | NON_BLOCK, 0o600);
    const stats = fs.fstatSync(opened);
    const unsafe = stats.isFile() ? unsafeBecause(stats) : undefined;
    if (!stats.isFile() || unsafe) {
      fs.closeSync(opened);
      throw unsafe ? unsafeLog(path, unsafe) : notAFile(path, stats, 'append to');
    }
    fd = opened;
    fdIno = stats.ino;
    if (!current && durability !== 'write') syncDirectorySync(dir);
    return stats;
  }

  /**
   * The tail to chain onto, read back from the file only when it is not as this sink left it.
   * Trims a torn last line and records that; records too a log that shrank or was replaced
   * under us (evidence of truncation that the chain alone cannot give).
   */
  function currentTail(stats: fs.Stats, context: AuditContext, event: AuditEvent): Tail {
    if (tail && tail.ino === stats.ino && tail.size === stats.size) return tail;
    const found = readTail(fd!, stats.size, context.vaultId, path);
    const notes: string[] = [];
    if (found.end < stats.size) {
      fs.ftruncateSync(fd!, found.end);
      notes.push(`torn-tail:trimmed ${stats.size - found.end} bytes after record ${found.seq}`);
    }
    if (tail && tail.ino !== stats.ino) {
      notes.push(`log-replaced:this writer last saw record ${tail.seq}; the log now ends at record ${found.seq}`);
    } else if (tail && found.end < tail.size) {
      notes.push(`log-shrank:this writer last saw record ${tail.seq} at byte ${tail.size}; the log now ends at record ${found.seq}`);
    }
    tail = { ino: stats.ino, size: found.end, seq: found.seq, hash: found.hash };
    for (const note of notes) {
      const colon = note.indexOf(':');
      write({
        actor: event.actor, generation: event.generation, action: 'audit.recover', outcome: 'ok',
        reason: note.slice(0, colon), note: note.slice(colon + 1),
      }, tail, context);
    }
    return tail;
  }

  function write(event: AuditEvent, after: Tail, context: AuditContext): void {
    if (after.seq === 0) {
      const refused = cannotStartLog(event, path);
      if (refused) throw refused;
    }
    // allocUnsafe: a pooled buffer, which sealRecord fills to its last byte.
    const { line: data, hash } = sealRecord(
      event, after.seq + 1, context.now, context.vaultId, after.hash, context.macKey, Buffer.allocUnsafe,
    );
    try {
      for (let offset = 0; offset < data.length;) offset += fs.writeSync(fd!, data, offset);
    } catch (error) {
      // Leave no torn record behind if we can; if we cannot, the next append trims it.
      tail = undefined;
      try {
        fs.ftruncateSync(fd!, after.size);
      } catch {
        // the next appender's currentTail() handles it
      }
      throw error;
    }
    tail = { ino: after.ino, size: after.size + data.length, seq: after.seq + 1, hash };
  }

  /**
   * Write one record under the lock; returns the descriptor written to (for group commit's flush).
   * Two syscalls: the write() that is the record, and an lstat of the log before it, even under
   * a lock this sink has kept since its last record (when nobody else can have appended): the
   * log may have been renamed or removed meanwhile, and a record written into a removed file is
   * not recorded. With the stat, the replacement is recorded at once and an agent, which may not
   * start a log, fails closed instead of releasing a key (test/audit/sink.test.ts).
   */
  function appendNow(event: AuditEvent, context: AuditContext): number | Promise<number> {
    return locked(() => {
      try {
        const stats = openLog();
        write(event, currentTail(stats, context, event), context);
      } catch (error) {
        throw ioError(error, 'append to', path);
      }
      if (durability !== 'fsync') return fd!;
      const written = fd!;
      return fdatasync(written).then(() => written, (error: unknown) => {
        throw ioError(error, 'append to', path);
      });
    });
  }

  /** Group commit: resolves after a flush that started after this caller's write. */
  function flushAfterWrite(written: number): Promise<void> {
    if (nextFlush) return nextFlush;
    const start = (): Promise<void> => {
      const flush = fdatasync(written).finally(() => {
        if (flushing === flush) flushing = undefined;
      });
      flushing = flush;
      return flush;
    };
    if (!flushing) return start();
    const next = flushing.catch(() => undefined).then(() => {
      nextFlush = undefined;
      return start();
    });
    nextFlush = next;
    return next;
  }

  return {
    path,
    durability,

    async append(event, context) {
      const problem = eventProblem(event);
      if (problem) throw new UsageError(`Not a valid audit event: ${problem}.`);
      const written = await serially(() => appendNow(event, context));
      if (durability === 'group') {
        await flushAfterWrite(written).catch((error: unknown) => {
          throw ioError(error, 'flush', path);
        });
      }
    },

    async head(vaultId: string) {
      return serially(() => locked(() => {
        if (!fs.existsSync(path)) return { seq: 0, hash: genesisHash(vaultId) };
        const stats = openLog();
        const { seq, hash } = readTail(fd!, stats.size, vaultId, path);
        return { seq, hash };
      })).catch((error: unknown) => {
        throw ioError(error, 'read the head of', path);
      });
    },

    async *read(filter: AuditFilter = {}): AsyncGenerator<AuditRecord> {
      const matcher = auditMatcher(filter);
      if (matcher.limit === 0) return;
      const opened = await openForReading(path);
      if (!opened) return;
      const { handle, size } = opened;
      try {
        let count = 0;
        for await (const block of blocksBackward(handle, size)) {
          for (const line of candidates(block, matcher.needles)) {
            const record = matcher.match(line);
            if (record === STOP) return;
            if (record === undefined) continue;
            yield record;
            if (++count >= matcher.limit) return;
          }
          // Lines skipped by the substring search were not checked against `since`: the block's
          // oldest line says whether anything older can still match.
          if (matcher.stopBefore !== undefined && timeOf(block) < matcher.stopBefore) return;
        }
      } finally {
        await handle.close();
      }
    },

    async verify(context: AuditVerifyContext, options: AuditVerifyOptions = {}): Promise<AuditReport> {
      const verifier = new ChainVerifier(context.vaultId, context.keys, options.anchor);
      // The bulk is read without the lock (appends go on meanwhile); what was appended since,
      // and the decision whether the last line is torn or still being written, under it.
      let end = await checkLines(verifier, 0, undefined);
      const torn: AuditReport['torn'] = await serially(() => locked(async () => {
        if (!fs.existsSync(path)) return undefined;
        const stats = openLog();
        end = await checkLines(verifier, end, stats.size);
        const bytes = stats.size - end;
        if (bytes === 0) return undefined;
        if (verifier.problem || options.repair === false) return { bytes, trimmed: false };
        // Read back from the file (not this sink's cached tail): trims, and records it as the owner.
        tail = undefined;
        currentTail(stats, context, { actor: 'owner', generation: 0, action: 'audit.recover', outcome: 'ok' });
        await checkLines(verifier, end, fs.fstatSync(fd!).size);
        return { bytes, trimmed: true };
      })).catch((error: unknown) => {
        throw error instanceof AuditError ? error : ioError(error, 'repair', path);
      });
      return { ...verifier.finish(), torn };
    },

    async close() {
      closed = true;
      await queue;
      lock.release();
      await nextFlush?.catch(() => undefined);
      await flushing?.catch(() => undefined);
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      tail = undefined;
    },
  };

  /** Check the complete lines from `start` to `end` (default: the size now); returns where they end. */
  async function checkLines(verifier: ChainVerifier, start: number, end: number | undefined): Promise<number> {
    const opened = await openForReading(path);
    if (!opened) return start;
    const { handle } = opened;
    try {
      let pending: ForwardLine | undefined;
      let checkedTo = start;
      for await (const batch of linesForward(handle, start, end ?? opened.size)) {
        for (const line of batch) {
          // Checking goes on past a bad line (the verifier reports it and resyncs).
          if (pending) checkLine(verifier, pending, line);
          if (pending) checkedTo = pending.next;
          pending = line;
        }
        // The next batch reuses the reader's buffer: keep our own copy of the line held over.
        if (pending) pending = { ...pending, line: Buffer.from(pending.line) };
      }
      if (pending) {
        checkLine(verifier, pending);
        checkedTo = pending.next;
      }
      return checkedTo;
    } finally {
      await handle.close();
    }
  }
}

/** One line through the verifier; the line after it, when known, tells swapped records from deleted ones. */
function checkLine(verifier: ChainVerifier, { line, overlong }: ForwardLine, after?: ForwardLine): boolean {
  if (overlong !== undefined) return verifier.checkOverlong(overlong);
  return verifier.check(line, after?.overlong === undefined ? after?.line : undefined);
}

/** The lock could not be had: an AuditError that says what to do. */
function lockError(error: unknown, lockPath: string): VaultError {
  if (error instanceof LockTimeoutError) {
    return new AuditError(`${error.message} If no agent-vault process is running, delete that lock file.`, { cause: error });
  }
  return ioError(error, 'lock', lockPath);
}

function durabilityFromEnv(): AuditDurability {
  const value = process.env['AGENT_VAULT_AUDIT_DURABILITY'];
  return (value === undefined || value === '' ? 'write' : value) as AuditDurability;
}
