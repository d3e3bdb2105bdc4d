/**
 * Taking a process's memory, the way an attacker who can dump it would see it.
 *
 * - `gcore`: a full core dump by gdb (what `gcore <pid>` writes), then its memory segments.
 *   Faithful, but gdb writes every mapping, including the address space V8 reserves and never
 *   touches (10 GB guard regions per WebAssembly memory: libsodium's, undici's llhttp): about
 *   27 GB of zeros and a minute per dump of an agent process. One dump at a time.
 * - `proc`: the same bytes without the zeros: the process is stopped (SIGSTOP), every page that
 *   is resident or swapped (per /proc/<pid>/pagemap) of every anonymous or writable mapping,
 *   whatever its protection, is read through /proc/<pid>/mem, and the process continues. Pages
 *   never touched read as zeros in a core dump, and read-only file mappings are the files' own
 *   bytes, so both find the same copies; `proc` takes a fraction of a second.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PAGE = 4096;

export type DumpMethod = 'gcore' | 'proc';

/** True when gdb's `gcore` is on the PATH. */
export function hasGcore(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, 'gcore')));
}

/** The memory of process `pid`, as contiguous regions. */
export async function dumpMemory(pid: number, method: DumpMethod, tmpDir: string): Promise<Buffer[]> {
  return method === 'gcore' ? gcoreRegions(pid, tmpDir) : procRegions(pid);
}

let gcoreQueue: Promise<unknown> = Promise.resolve();

function gcoreRegions(pid: number, tmpDir: string): Promise<Buffer[]> {
  const next = gcoreQueue.then(async () => {
    const prefix = join(tmpDir, `core-${pid}-${Date.now()}`);
    await run('gcore', ['-o', prefix, String(pid)], { maxBuffer: 16 * 1024 * 1024 });
    const path = `${prefix}.${pid}`;
    try {
      return coreSegments(path);
    } finally {
      rmSync(path, { force: true });
    }
  });
  gcoreQueue = next.catch(() => undefined);
  return next;
}

const CHUNK = 1 << 20;

/**
 * The memory in an ELF64 core file: each PT_LOAD segment read in 1 MiB chunks, all-zero chunks
 * dropped (a copy of a secret cannot run into one), consecutive others joined into one region.
 */
function coreSegments(path: string): Buffer[] {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) throw new Error('not an ELF64 core file');
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    const regions: Buffer[] = [];
    const zero = Buffer.alloc(CHUNK);
    for (let i = 0; i < phnum; i++) {
      const entry = i * phentsize;
      if (table.readUInt32LE(entry) !== 1) continue; // PT_LOAD
      const offset = Number(table.readBigUInt64LE(entry + 8));
      const size = Number(table.readBigUInt64LE(entry + 32));
      let run: Buffer[] = [];
      for (let at = 0; at < size; at += CHUNK) {
        const chunk = Buffer.alloc(Math.min(CHUNK, size - at));
        readSync(fd, chunk, 0, chunk.length, offset + at);
        if (chunk.equals(zero.subarray(0, chunk.length))) {
          if (run.length) regions.push(Buffer.concat(run));
          run = [];
        } else {
          run.push(chunk);
        }
      }
      if (run.length) regions.push(Buffer.concat(run));
    }
    return regions;
  } finally {
    closeSync(fd);
  }
}

async function procRegions(pid: number): Promise<Buffer[]> {
  process.kill(pid, 'SIGSTOP');
  try {
    const maps = readFileSync(`/proc/${pid}/maps`, 'latin1');
    const pagemap = openSync(`/proc/${pid}/pagemap`, 'r');
    const mem = openSync(`/proc/${pid}/mem`, 'r');
    const regions: Buffer[] = [];
    try {
      for (const line of maps.split('\n')) {
        const match = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
        if (!match || !wanted(match[3]!, match[4]!)) continue;
        const start = parseInt(match[1]!, 16);
        const end = parseInt(match[2]!, 16);
        for (const [from, to] of presentRuns(pagemap, start, end)) {
          const buffer = Buffer.allocUnsafe(to - from);
          let done = 0;
          try {
            while (done < buffer.length) {
              const n = readSync(mem, buffer, done, buffer.length - done, from + done);
              if (n <= 0) break;
              done += n;
            }
          } catch {
            // A page that cannot be read (a device mapping) holds nothing of ours.
          }
          if (done > 0) regions.push(buffer.subarray(0, done));
        }
      }
    } finally {
      closeSync(pagemap);
      closeSync(mem);
    }
    return regions;
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/**
 * Every mapping except the kernel's pages and files mapped read-only (program and library code,
 * constants): those are the file's bytes, and a process can only write into writable mappings
 * (or anonymous ones: V8 flips its heap pages between protections).
 */
function wanted(permissions: string, path: string): boolean {
  if (path.startsWith('[v')) return false; // [vvar], [vdso], [vsyscall]
  return !path.startsWith('/') || permissions[1] === 'w';
}

/** Runs of pages in [start, end) that are resident or swapped (pagemap bits 63 and 62). */
function* presentRuns(pagemap: number, start: number, end: number): Generator<[number, number]> {
  const pages = (end - start) / PAGE;
  const chunk = 65536;
  let runStart = -1;
  for (let first = 0; first < pages; first += chunk) {
    const count = Math.min(chunk, pages - first);
    const entries = Buffer.alloc(count * 8);
    const n = readSync(pagemap, entries, 0, entries.length, ((start / PAGE) + first) * 8);
    for (let i = 0; i < count; i++) {
      const high = i * 8 + 8 <= n ? entries.readUInt32LE(i * 8 + 4) : 0;
      const present = (high & 0xc0000000) !== 0;
      const address = start + (first + i) * PAGE;
      if (present && runStart === -1) runStart = address;
      if (!present && runStart !== -1) {
        yield [runStart, address];
        runStart = -1;
      }
    }
  }
  if (runStart !== -1) yield [runStart, end];
}
