/**
 * `scan`: every plaintext key in the environment, the project trees, the shell start-up files
 * and the MCP client configs. Reads only; a file it cannot read or parse is reported as a
 * problem and skipped, never guessed at.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { detect, embeddedKeys } from './detect.ts';
import { Finding, type SourceKind } from './finding.ts';
import { closesQuote, opensMultiLine, parseAssignment, splitLines } from './_lines.ts';
import { parseMcpConfig, serverStrings } from './_mcp.ts';
import { walkTree } from './_walk.ts';
import { homeFiles } from './locations.ts';

export interface ScanOptions {
  /** Project trees (or single files) to search. Default: the working directory. */
  paths?: string[];
  /** The environment to search, and to resolve XDG_CONFIG_HOME and APPDATA from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Search `env` itself. Default true. */
  environment?: boolean;
  /** Search the shell start-up files and MCP configs in the home directory. Default true. */
  home?: boolean;
  /** The home directory. Default: os.homedir() (HOME, or USERPROFILE on Windows). */
  homeDir?: string;
}

export interface ScanProblem {
  path: string;
  reason: string;
}

export interface ScanReport {
  findings: Finding[];
  /** Files not searched (unreadable, malformed, too large) or not understood, each with why. */
  problems: ScanProblem[];
  /** How many files were read. */
  filesRead: number;
}

/** A `.env` is a few kilobytes; a `~/.claude.json` may hold megabytes of history. */
const MAX_BYTES: Record<'line' | 'json', number> = { line: 1 << 20, json: 64 << 20 };

interface FileSource {
  path: string;
  kind: Exclude<SourceKind, 'environment'>;
  gitIgnored: boolean;
  symlink: boolean;
  /** Why import must not rewrite this file (a link, not UTF-8), if so. */
  manual?: string;
}

export function scan(options: ScanOptions = {}): ScanReport {
  const env = options.env ?? process.env;
  const report: ScanReport = { findings: [], problems: [], filesRead: 0 };
  const problem = (path: string, reason: string) => report.problems.push({ path, reason });
  if (options.environment ?? true) {
    for (const [variable, value] of Object.entries(env)) {
      if (value === undefined) continue;
      const provider = detect(variable, value);
      if (provider) report.findings.push(new Finding({ kind: 'environment', variable, provider, removal: 'environment' }, value.trim()));
    }
  }
  const sources: FileSource[] = [];
  for (const root of options.paths?.length ? options.paths : ['.']) {
    sources.push(...walkTree(resolve(root), problem));
  }
  if (options.home ?? true) {
    for (const file of homeFiles(options.homeDir ?? homedir(), env)) {
      // Most of these do not exist, which is not worth a word; one that cannot be stat'ed is.
      let info;
      try {
        info = statSync(file.path, { throwIfNoEntry: false });
      } catch (error) {
        problem(file.path, `cannot follow it (${(error as NodeJS.ErrnoException).code ?? 'error'}); not searched`);
      }
      if (info?.isFile()) sources.push({ path: file.path, kind: file.kind, gitIgnored: false, symlink: false });
    }
  }
  const seen = new Set<string>();
  for (const source of sources) {
    if (seen.has(source.path)) continue;
    seen.add(source.path);
    const read = readText(source.path, source.kind === 'mcp-config' ? MAX_BYTES.json : MAX_BYTES.line, problem);
    if (read === undefined) continue;
    report.filesRead++;
    const manual = source.symlink ? 'a symbolic link: edit the file it points to'
      : !read.utf8 ? 'not UTF-8 text: a rewrite would change its other bytes; edit it by hand' : undefined;
    const file = { ...source, ...(manual ? { manual } : {}) };
    if (source.kind === 'mcp-config') scanMcp(file, read.text, report.findings, problem);
    else scanLines(file, read.text, report.findings);
  }
  return report;
}

/** The file's text, and whether it is UTF-8 (its text written back gives the same bytes). */
function readText(path: string, limit: number, problem: (path: string, reason: string) => void): { text: string; utf8: boolean } | undefined {
  try {
    const info = statSync(path);
    if (info.size > limit) {
      problem(path, `larger than ${limit >> 20} MiB; not searched`);
      return undefined;
    }
    const bytes = readFileSync(path);
    if (bytes.includes(0)) {
      problem(path, 'binary (holds NUL bytes); not searched');
      return undefined;
    }
    const text = bytes.toString('utf8');
    return { text, utf8: Buffer.from(text, 'utf8').equals(bytes) };
  } catch (error) {
    problem(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'}); not searched`);
    return undefined;
  }
}

function scanLines(source: FileSource, text: string, findings: Finding[]): void {
  const fish = source.path.endsWith('.fish');
  const removal = source.manual ? 'manual' : 'line';
  let open: string | undefined; // the quote of a multi-line value we are inside
  for (const line of splitLines(text)) {
    const base = { kind: source.kind, path: source.path, line: line.number, gitIgnored: source.gitIgnored };
    const byHand = (note: string) => {
      for (const key of embeddedKeys(line.text)) findings.push(new Finding({ ...base, provider: key.provider, removal: 'manual', note }, key.value));
    };
    // Inside a multi-line value, a line that looks like `NAME=value` is part of that value, not an assignment.
    if (open !== undefined) {
      byHand('inside a multi-line quoted value: edit it by hand');
      if (closesQuote(line.text, open)) open = undefined;
      continue;
    }
    open = opensMultiLine(line.text);
    if (open !== undefined) {
      byHand('inside a multi-line quoted value: edit it by hand');
      continue;
    }
    if (/^\s*#/.test(line.text)) continue; // a comment (including the pointer import leaves)
    const assignment = parseAssignment(line.text, fish);
    const provider = assignment && detect(assignment.variable, assignment.value);
    if (assignment && provider) {
      findings.push(new Finding({ ...base, variable: assignment.variable, provider, removal, ...(source.manual ? { note: source.manual } : {}) }, assignment.value));
      continue;
    }
    byHand('not a plain assignment: edit this line by hand');
  }
}

function scanMcp(source: FileSource, text: string, findings: Finding[], problem: (path: string, reason: string) => void): void {
  const parsed = parseMcpConfig(text);
  if (!parsed.ok) {
    problem(source.path, `${parsed.reason}; not searched, and import leaves it untouched`);
    return;
  }
  const first = findings.length;
  for (const server of parsed.servers) {
    const stdio = typeof server.entry.command === 'string';
    const endpoint = endpointVariable(server.entry);
    // An entry a past import rewrote: exec strips AGENT_VAULT_* from its child, so exec inside exec has no vault.
    const env = server.entry.env;
    const underExec = typeof env === 'object' && env !== null && Object.keys(env).some((name) => name.startsWith('AGENT_VAULT_'));
    for (const string of serverStrings(server.entry)) {
      const base = {
        kind: source.kind, path: source.path, server: server.name, field: string.field, serverPath: server.path,
        gitIgnored: source.gitIgnored,
      };
      const provider = string.field.startsWith('env.') ? detect(string.variable, string.value) : undefined;
      if (provider) {
        const note = !parsed.strictJson ? 'the file has comments or trailing commas: import does not rewrite it'
          : !stdio ? 'not a stdio server (no "command"): exec cannot wrap it'
          : endpoint ? `the entry sets ${endpoint}: under exec the key would go to the provider's default origin instead; move it by hand`
          : underExec ? 'the entry already runs under agent-vault exec (wrapping it again would break it): `agent-vault set` the key, grant it to the entry\'s agent, and remove it from env by hand'
          : source.manual;
        findings.push(new Finding({ ...base, variable: string.variable, provider, removal: note ? 'manual' : 'mcp-env', ...(note ? { note } : {}) }, string.value));
        continue;
      }
      const keys = string.variable !== undefined && detect(string.variable, string.value) === 'generic'
        ? [{ provider: 'generic' as const, value: string.value }] : embeddedKeys(string.value);
      for (const key of keys) {
        findings.push(new Finding({ ...base, ...(string.variable ? { variable: string.variable } : {}), provider: key.provider, removal: 'manual', note: `a key in ${string.field}: move it by hand` }, key.value));
      }
    }
  }
  scanRestOfConfig(source, text, new Set(findings.slice(first).map((finding) => finding.value())), findings);
}

/**
 * Shaped keys anywhere else in the config (a client's own settings, `inputs`, a server group we
 * do not know such as Zed's `context_servers`): named, with their line, for the user to move.
 */
function scanRestOfConfig(source: FileSource, text: string, found: Set<string>, findings: Finding[]): void {
  // Line numbers counted as we go: a `~/.claude.json` of 64 MiB may quote many keys in its history.
  let line = 1;
  let counted = 0;
  for (const key of embeddedKeys(text)) {
    for (let at = text.indexOf('\n', counted); at !== -1 && at < key.index; at = text.indexOf('\n', at + 1)) line++;
    counted = key.index;
    if (found.has(key.value)) continue;
    found.add(key.value);
    findings.push(new Finding({
      kind: source.kind, path: source.path, line, gitIgnored: source.gitIgnored, provider: key.provider, removal: 'manual',
      note: 'in a part of this config that is not an MCP server entry import understands: move it by hand',
    }, key.value));
  }
}

/**
 * A variable that points the server's SDK somewhere else (`OPENAI_BASE_URL` for OpenRouter, a
 * proxy, Azure). `exec` replaces it with the broker, which sends the key to the provider's own
 * origin: wrapping such an entry would send, say, an OpenRouter key to OpenAI.
 */
function endpointVariable(entry: Record<string, unknown>): string | undefined {
  const env = entry.env;
  if (typeof env !== 'object' || env === null) return undefined;
  return Object.keys(env).find((name) => /(?:_BASE_URL|_API_BASE|_API_URL|_API_HOST|_ENDPOINT)$/i.test(name));
}
