/**
 * Finding the files worth reading under a project tree: `.env*` and `*.env` files and project
 * MCP configs. For speed, directories that `.gitignore` ignores are not entered (nor `.git` and
 * `node_modules`, ignored or not); but a key file that `.gitignore` ignores in a directory we do
 * enter is still read, and marked: ignored means "not committed", not "not on disk". Symbolic
 * links to directories are not followed (no loops); links to files are read, and marked.
 */
import { lstatSync, readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';

export type TreeFileKind = 'dotenv' | 'mcp-config';

export interface TreeFile {
  path: string;
  kind: TreeFileKind;
  gitIgnored: boolean;
  symlink: boolean;
}

interface Rule {
  regex: RegExp;
  negate: boolean;
  dirOnly: boolean;
  /** Matched against the path relative to the .gitignore's directory, else the base name. */
  anchored: boolean;
}

interface Rules {
  base: string;
  rules: Rule[];
}

const ALWAYS_SKIPPED = new Set(['.git', 'node_modules']);

function globToRegex(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*' && glob[i + 1] === '*') {
      source += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        source += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (char === '\\' && i + 1 < glob.length) source += `\\${glob[++i]}`;
    else source += char.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** The rules of one .gitignore (the common subset: globs, `**`, `!`, trailing `/`, leading `/`). */
export function parseGitignore(text: string, base: string): Rules {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (line === '') continue;
    rules.push({ regex: globToRegex(line), negate, dirOnly, anchored });
  }
  return { base, rules };
}

/** Whether `path` is ignored by the stack of .gitignore files above it (the last match wins). */
function ignored(stack: readonly Rules[], path: string, isDir: boolean): boolean {
  let result = false;
  for (const { base, rules } of stack) {
    const rel = relative(base, path).split(sep).join('/');
    const name = basename(path);
    for (const rule of rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(rule.anchored ? rel : name)) result = !rule.negate;
    }
  }
  return result;
}

function kindOf(name: string, parent: string): TreeFileKind | undefined {
  if (name === '.env' || name.startsWith('.env.') || name === '.envrc' || name.endsWith('.env')) return 'dotenv';
  if (name === '.mcp.json') return 'mcp-config';
  if (name === 'mcp.json' && (parent === '.cursor' || parent === '.vscode')) return 'mcp-config';
  return undefined;
}

/**
 * The file a path leads to, or undefined with the problem named: a link loop (ELOOP), a
 * directory we may not search (EACCES), a dangling link. Never throws: one bad entry must not
 * end the whole scan.
 */
export function statOrProblem(path: string, onProblem: (path: string, reason: string) => void): Stats | undefined {
  try {
    const info = statSync(path, { throwIfNoEntry: false });
    if (!info) onProblem(path, 'does not exist (or is a link to nothing)');
    return info;
  } catch (error) {
    onProblem(path, `cannot follow it (${(error as NodeJS.ErrnoException).code ?? 'error'}); not searched`);
    return undefined;
  }
}

/** Every key-bearing file under `root` (a directory, or one file given by name). */
export function walkTree(root: string, onProblem: (path: string, reason: string) => void): TreeFile[] {
  const files: TreeFile[] = [];
  const visit = (dir: string, stack: Rules[]): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      onProblem(dir, `cannot list it (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return;
    }
    const gitignore = entries.find((entry) => entry.name === '.gitignore' && entry.isFile());
    if (gitignore) {
      try {
        stack = [...stack, parseGitignore(readFileSync(join(dir, '.gitignore'), 'utf8'), dir)];
      } catch {
        onProblem(join(dir, '.gitignore'), 'cannot read it; its rules were not applied');
      }
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!ALWAYS_SKIPPED.has(entry.name) && !ignored(stack, path, true)) visit(path, stack);
        continue;
      }
      const kind = kindOf(entry.name, basename(dir));
      if (!kind) continue;
      const symlink = entry.isSymbolicLink();
      if (symlink) {
        const target = statOrProblem(path, onProblem);
        if (!target?.isFile()) continue;
      }
      if (entry.isFile() || symlink) files.push({ path, kind, gitIgnored: ignored(stack, path, false), symlink });
    }
  };
  const info = statOrProblem(root, onProblem);
  if (!info) return files;
  else if (info.isDirectory()) visit(root, []);
  // A file named on the command line is read whatever its name: JSON as an MCP config, else as lines.
  else if (info.isFile()) files.push({ path: root, kind: root.endsWith('.json') ? 'mcp-config' : 'dotenv', gitIgnored: false, symlink: lstatSync(root).isSymbolicLink() });
  // A FIFO or a device (`/dev/stdin`, `/dev/zero`) would block the scan or never end.
  else onProblem(root, 'not a regular file or a directory; not searched');
  return files;
}
