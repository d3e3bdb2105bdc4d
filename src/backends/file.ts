import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Backend } from '../backend.ts';
import { equalBytes } from '../_bytes.ts';
import { BackendError, UsageError } from '../errors.ts';
import { errnoCode, fileIdentity, HOST, pidAlive, readExactly, settled, syncDirectory } from '../_fs.ts';
import {
  checkKey, corrupt, decodeEntry, decodeKey, encodeEntry, ENTRY_NAME, entryName, fsError, HEADER_READ_BYTES, openIfPresent,
  openIfPresentSync,
} from './_file-entry.ts';
import { fileLock } from './_file-lock.ts';
import { fileAuditSink } from '../audit/file.ts';
import { checkVaultDir, defaultVaultDir } from './_discovery.ts';

export { defaultVaultDir, discoverVaultDir, type DiscoveryOptions } from './_discovery.ts';

export interface FileBackendOptions {
  /**
   * The directory holding the vault's files. Defaults to `defaultVaultDir()`: `AGENT_VAULT_DIR`,
   * else a `.agent-vault/` in the working directory or one of its parents, else `~/.agent-vault`.
   * Created (with its missing parents) with mode 0700 on first use; an existing directory keeps
   * its mode.
   */
  dir?: string;
  /**
   * How long `withLock` and `compareAndSwap` wait for another process's lock before failing with
   * a `BackendError` naming the lock file. Defaults to 10 000 ms.
   */
  lockTimeoutMs?: number;
  /**
   * A lock its holder has not refreshed for this long is treated as abandoned and removed
   * (holders refresh it every third of this). A lock whose pid is dead on this host is removed
   * at once, whatever its age. Defaults to 60 000 ms.
   */
  staleLockMs?: number;
  /**
   * How many values (ciphertext, at most 64 KiB each) `get` keeps in memory, each revalidated by
   * one `stat` per call. Defaults to 1024; 0 disables the cache.
   */
  cacheEntries?: number;
}

/*
 * Directory layout, all files directly in `dir` (no subdirectories):
 *   <64 hex>                     one entry (format and naming in _file-entry.ts)
 *   .tmp-<host>-<pid>-<random>   a write in progress, renamed over its entry when complete
 *   .lock, .lock.break,          the cross-process lock (_file-lock.ts) and its waiting signal
 *   .lock.waiting                (../_lock-waiting.ts)
 * Anything else (a key file, notes) is left alone.
 */
const TEMP_PREFIX = '.tmp-';
/** Temp files of writers on other hosts (whose pids we cannot check) are removed after this. */
const FOREIGN_TEMP_STALE_MS = 60 * 60 * 1000;
const MAX_CACHED_VALUE_BYTES = 64 * 1024;

/** Identifies this host in temp file names, so cleanup knows whose pids it can check. */
const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 8);

interface CacheEntry {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  value: Uint8Array;
}

/** The file backend has every optional capability. */
export type FileBackend = Required<Backend>;

/**
 * The embedded default backend: one file per entry in a 0700 directory, written atomically and
 * durably (temp file, fsync, rename, fsync the directory), with a cross-process lock for
 * `withLock` and `compareAndSwap`. Nested `withLock` calls in the same async call chain run
 * directly; a `withLock` on a second backend object for the same directory, nested inside the
 * first, waits for the lock and fails after `lockTimeoutMs`.
 */
export function fileBackend(options: FileBackendOptions = {}): FileBackend {
  const dir = resolve(options.dir ?? defaultVaultDir());
  const cacheEntries = options.cacheEntries ?? 1024;
  const lock = fileLock({
    path: join(dir, '.lock'),
    timeoutMs: options.lockTimeoutMs ?? 10_000,
    staleMs: options.staleLockMs ?? 60_000,
  });
  /** Keyed by backend key; Map order is recency, for eviction. */
  const cache = new Map<string, CacheEntry>();
  /** Entry file name → key. Permanent: the name is a hash of the key. */
  const keysByName = new Map<string, string>();
  /** Key → entry path, joined once: agents look up the same few keys on every request. */
  const paths = new Map<string, string>();
  const entryPath = (key: string): string => {
    let path = paths.get(key);
    if (path === undefined) {
      if (paths.size >= 4_096) paths.clear();
      paths.set(key, (path = join(dir, entryName(key))));
    }
    return path;
  };
  let ready = false;
  let closed = false;

  /**
   * First use: create the directory and remove temp files that killed writers left behind. Done
   * again on the next call if it failed.
   */
  function ensureOpen(): void {
    if (closed) throw new UsageError('This file backend was closed; create a new one with fileBackend().');
    if (ready) return;
    initDir(dir);
    ready = true;
  }

  /**
   * Synchronous, like the stat of a cached entry: an entry is a small local file (a value is at
   * most 64 KiB of ciphertext plus its grants; anything over MAX_ENTRY_BYTES is refused before a
   * byte is read), and through the thread pool its four round trips (open, fstat, read, close)
   * cost more than the read, each one waiting for the main thread: a cold start, which reads the
   * header, the state and two records, waited on them in turn.
   */
  function readEntry(key: string, useCache: boolean): Uint8Array | undefined {
    const path = entryPath(key);
    const cached = useCache ? cache.get(key) : undefined;
    if (cached) {
      // A synchronous stat (~2 µs) instead of a trip through libuv's thread pool (~40 µs): this is
      // the per-request path of every agent, and a local stat does not block in practice.
      let stats: BigIntStats | undefined;
      try {
        // lstat: a symlink put in the entry's place is a different file, never followed.
        stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      } catch (error) {
        cache.delete(key);
        throw fsError(error, 'stat', path);
      }
      if (!stats) {
        cache.delete(key);
        return undefined;
      }
      if (sameFile(stats, cached)) {
        cache.delete(key);
        cache.set(key, cached);
        return cached.value.slice();
      }
    }
    // No file, or one we cannot open: whatever is cached for it is no longer true.
    let opened;
    try {
      opened = openIfPresentSync(path, 'open');
    } catch (error) {
      cache.delete(key);
      throw error;
    }
    if (!opened) {
      cache.delete(key);
      return undefined;
    }
    // fstat of the descriptor we read (checked before reading: a regular file of a sane size), so
    // the cache records the stats of exactly these bytes.
    const { fd, stats } = opened;
    let bytes: Buffer;
    try {
      bytes = readExactly(fd, Number(stats.size));
    } catch (error) {
      throw fsError(error, 'read', path);
    } finally {
      closeSync(fd);
    }
    const value = decodeEntry(bytes, key, path);
    if (useCache) remember(key, stats, value);
    return value;
  }

  function remember(key: string, stats: BigIntStats, value: Uint8Array): void {
    cache.delete(key);
    if (cacheEntries <= 0 || !settled(stats) || value.length > MAX_CACHED_VALUE_BYTES) return;
    cache.set(key, { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs,
      ctimeNs: stats.ctimeNs, value: value.slice() });
    if (cache.size > cacheEntries) cache.delete(cache.keys().next().value as string);
  }

  async function writeEntry(key: string, encoded: Uint8Array): Promise<void> {
    cache.delete(key);
    await writeAtomic(dir, entryName(key), encoded);
  }

  async function deleteEntry(key: string): Promise<void> {
    cache.delete(key);
    const path = entryPath(key);
    try {
      await unlink(path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      throw fsError(error, 'delete', path);
    }
    await syncDir(dir);
  }

  /** The key stored in an entry file, or undefined if the file vanished meanwhile. */
  async function keyOf(name: string): Promise<string | undefined> {
    const known = keysByName.get(name);
    if (known !== undefined) return known;
    const path = join(dir, name);
    const opened = await openIfPresent(path, 'open');
    if (!opened) return undefined;
    const { handle } = opened;
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEADER_READ_BYTES), 0, HEADER_READ_BYTES, 0);
      const key = decodeKey(buffer.subarray(0, bytesRead), path);
      if (entryName(key) !== name) throw corrupt(path, 'holds an entry that belongs to another file name');
      keysByName.set(name, key);
      return key;
    } catch (error) {
      throw error instanceof BackendError ? error : fsError(error, 'read', path);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  return {
    name: 'file',
    async get(key) {
      checkKey(key);
      ensureOpen();
      return readEntry(key, cacheEntries > 0);
    },
    revision(key) {
      if (closed) return undefined;
      // A key with a known path was checked when it got one.
      if (!paths.has(key)) checkKey(key);
      const path = entryPath(key);
      let stats: BigIntStats | undefined;
      try {
        stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      } catch (error) {
        throw fsError(error, 'stat', path);
      }
      return stats && settled(stats) ? fileIdentity(stats) : undefined;
    },
    async set(key, value) {
      // Encode before any await: the caller may reuse its buffer as soon as set() returns.
      const encoded = encodeEntry(key, value);
      ensureOpen();
      await writeEntry(key, encoded);
    },
    async delete(key) {
      checkKey(key);
      ensureOpen();
      await deleteEntry(key);
    },
    async list(prefix) {
      if (typeof prefix !== 'string') throw new UsageError('list(prefix) needs a string prefix.');
      ensureOpen();
      let names: string[];
      try {
        names = (await readdir(dir)).filter((name) => ENTRY_NAME.test(name));
      } catch (error) {
        throw fsError(error, 'list', dir);
      }
      const keys: string[] = [];
      // Unknown names need one header read each; a bounded batch keeps file descriptors in check.
      for (let i = 0; i < names.length; i += 64) {
        for (const key of await Promise.all(names.slice(i, i + 64).map(keyOf))) {
          if (key !== undefined && key.startsWith(prefix)) keys.push(key);
        }
      }
      return keys;
    },
    async compareAndSwap(key, expected, value) {
      checkKey(key);
      const encoded = value === undefined ? undefined : encodeEntry(key, value);
      const expectedCopy = expected === undefined ? undefined : Uint8Array.from(expected);
      ensureOpen();
      return lock.withLock(async () => {
        if (!equalBytes(readEntry(key, false), expectedCopy)) return false;
        if (encoded === undefined) await deleteEntry(key);
        else await writeEntry(key, encoded);
        return true;
      });
    },
    async withLock(fn) {
      ensureOpen();
      return lock.withLock(fn);
    },
    auditSink() {
      return fileAuditSink({ dir });
    },
    async close() {
      closed = true;
      cache.clear();
      keysByName.clear();
    },
  };
}

/**
 * Synchronous, once per backend object: a handful of system calls on a local directory, which
 * through the thread pool were three round trips in series on every agent's cold start.
 */
function initDir(dir: string): void {
  try {
    // chmod the directory we create: mkdir's mode is filtered through the umask.
    const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) chmodSync(dir, 0o700);
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    throw fsError(error, 'create the vault directory', dir);
  }
  // A directory named explicitly is held to the same rule as one discovered.
  checkVaultDir(dir);
  removeStaleTemps(dir);
}

/** Temp files whose writer is dead (pid gone on this host, or old on another host). */
function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(TEMP_PREFIX));
  } catch (error) {
    throw fsError(error, 'list', dir);
  }
  for (const name of names) {
    const path = join(dir, name);
    const [host, pid] = name.slice(TEMP_PREFIX.length).split('-');
    let stale: boolean;
    if (host === HOST_TAG && pid !== undefined && /^\d+$/.test(pid)) {
      stale = Number(pid) !== process.pid && !pidAlive(Number(pid));
    } else {
      const stats = statSync(path, { throwIfNoEntry: false });
      stale = stats !== undefined && Date.now() - stats.mtimeMs > FOREIGN_TEMP_STALE_MS;
    }
    if (!stale) continue;
    try {
      unlinkSync(path);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw fsError(error, 'remove the stale temp file', path);
    }
  }
}

/** Temp file, write, fsync, rename over the entry, fsync the directory: old or new, never torn. */
async function writeAtomic(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `${TEMP_PREFIX}${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}`);
  const target = join(dir, name);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', 0o600);
  } catch (error) {
    throw fsError(error, 'create a temp file in', dir);
  }
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw fsError(error, 'write', target);
  }
  await syncDir(dir);
}

/** Makes a rename or unlink durable. */
async function syncDir(dir: string): Promise<void> {
  try {
    await syncDirectory(dir);
  } catch (error) {
    throw fsError(error, 'sync', dir);
  }
}

function sameFile(stats: BigIntStats, cached: CacheEntry): boolean {
  return stats.ino === cached.ino && stats.dev === cached.dev && stats.size === cached.size &&
    stats.mtimeNs === cached.mtimeNs && stats.ctimeNs === cached.ctimeNs;
}
