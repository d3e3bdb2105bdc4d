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
import { parseAssignment, splitLines } from './_lines.ts';
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
      const info = statSync(file.path, { throwIfNoEntry: false });
      if (info?.isFile()) sources.push({ path: file.path, kind: file.kind, gitIgnored: false, symlink: false });
    }
  }
  const seen = new Set<string>();
  for (const source of sources) {
    if (seen.has(source.path)) continue;
    seen.add(source.path);
    const text = readText(source.path, source.kind === 'mcp-config' ? MAX_BYTES.json : MAX_BYTES.line, problem);
    if (text === undefined) continue;
    report.filesRead++;
    if (source.kind === 'mcp-config') scanMcp(source, text, report.findings, problem);
    else scanLines(source, text, report.findings);
  }
  return report;
}

function readText(path: string, limit: number, problem: (path: string, reason: string) => void): string | undefined {
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
    return bytes.toString('utf8');
  } catch (error) {
    problem(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'}); not searched`);
    return undefined;
  }
}

function scanLines(source: FileSource, text: string, findings: Finding[]): void {
  const fish = source.path.endsWith('.fish');
  const removal = source.symlink ? 'manual' : 'line';
  const note = source.symlink ? 'a symbolic link: edit the file it points to' : undefined;
  for (const line of splitLines(text)) {
    if (/^\s*#/.test(line.text)) continue; // a comment (including the pointer import leaves)
    const assignment = parseAssignment(line.text, fish);
    const base = { kind: source.kind, path: source.path, line: line.number, gitIgnored: source.gitIgnored };
    const provider = assignment && detect(assignment.variable, assignment.value);
    if (assignment && provider) {
      findings.push(new Finding({ ...base, variable: assignment.variable, provider, removal, ...(note ? { note } : {}) }, assignment.value));
      continue;
    }
    for (const key of embeddedKeys(line.text)) {
      findings.push(new Finding({ ...base, provider: key.provider, removal: 'manual', note: 'not a plain assignment: edit this line by hand' }, key.value));
    }
  }
}

function scanMcp(source: FileSource, text: string, findings: Finding[], problem: (path: string, reason: string) => void): void {
  const parsed = parseMcpConfig(text);
  if (!parsed.ok) {
    problem(source.path, `${parsed.reason}; not searched, and import leaves it untouched`);
    return;
  }
  for (const server of parsed.servers) {
    const stdio = typeof server.entry.command === 'string';
    const endpoint = endpointVariable(server.entry);
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
          : source.symlink ? 'a symbolic link: edit the file it points to' : undefined;
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
