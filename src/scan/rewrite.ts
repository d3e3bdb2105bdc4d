/**
 * The new text of a source file once its keys are in the vault. Pure functions of the old text:
 * the caller backs up, writes atomically and records the result (see backup.ts). A file that no
 * longer parses as it did when scanned is refused whole, never half-rewritten.
 */
import { UsageError } from '../errors.ts';
import type { Finding } from './finding.ts';
import { parseAssignment, splitLines } from './_lines.ts';
import { at, indentOf, parseMcpConfig } from './_mcp.ts';

/** A key moving out of a file: the finding and the vault secret that now holds its value. */
export interface Move {
  finding: Finding;
  name: string;
}

/** How a rewritten MCP entry starts `exec`: the program, and the arguments before `--`. */
export interface ExecLauncher {
  command: string;
  args: string[];
  /** Variables the entry needs for `exec` to reach the vault (its agent's token file: a path, never a value). */
  env?: Record<string, string>;
}

/** The comment left where a line was: where the value went, and how to get the line back. */
export function pointerComment(variable: string, name: string): string {
  return `# ${variable}: moved to agent-vault as "${name}" (agent-vault import; undo: agent-vault import --undo)`;
}

/**
 * A `.env` or shell file with each moved line replaced by its pointer comment. The line must
 * still be the same assignment (variable and value) it was at the scan: a line edited since, even
 * one that still holds the value, is not ours to drop.
 */
export function rewriteLines(text: string, moves: readonly Move[]): string {
  const byLine = new Map(moves.map((move) => [move.finding.line, move]));
  const fish = moves[0]?.finding.path?.endsWith('.fish') ?? false;
  return splitLines(text).map((line) => {
    const move = byLine.get(line.number);
    if (!move) return line.text + line.ending;
    const bom = line.number === 1 && line.text.startsWith('\uFEFF') ? '\uFEFF' : '';
    const now = parseAssignment(line.text.slice(bom.length), fish);
    if (!move.finding.variable || now?.variable !== move.finding.variable || now.value !== move.finding.value()) {
      throw new UsageError(`${move.finding.path} changed since it was scanned (line ${line.number}); it was left untouched. Run import again.`);
    }
    return bom + pointerComment(move.finding.variable, move.name) + line.ending;
  }).join('');
}

/**
 * An MCP config with each server that had keys rewritten to run under `exec`: the server's own
 * launcher (from `launcherFor`, given the server's path in the file), the original command and
 * arguments after `--`, the moved variables out of its `env`. The rest of the file is kept,
 * re-serialised with its own indentation.
 */
export function rewriteMcp(text: string, moves: readonly Move[], launcherFor: (serverPath: string[]) => ExecLauncher): string {
  const parsed = parseMcpConfig(text);
  const changed = (why: string) => new UsageError(`${moves[0]?.finding.path} ${why} since it was scanned; it was left untouched. Run import again.`);
  if (!parsed.ok || !parsed.strictJson) throw changed('no longer parses as plain JSON');
  const byServer = new Map<string, Move[]>();
  for (const move of moves) {
    const key = JSON.stringify(move.finding.serverPath);
    byServer.set(key, [...(byServer.get(key) ?? []), move]);
  }
  for (const [key, serverMoves] of byServer) {
    const entry = at(parsed.root, JSON.parse(key) as string[]) as Record<string, unknown> | undefined;
    const env = entry?.env as Record<string, unknown> | undefined;
    if (!entry || typeof entry.command !== 'string' || !env) throw changed('changed');
    for (const { finding } of serverMoves) {
      if (env[finding.variable as string] !== finding.value()) throw changed('changed');
      delete env[finding.variable as string];
    }
    const originalArgs = Array.isArray(entry.args) ? (entry.args as unknown[]) : [];
    const launcher = launcherFor(JSON.parse(key) as string[]);
    entry.args = [...launcher.args, '--', entry.command, ...originalArgs];
    entry.command = launcher.command;
    Object.assign(env, launcher.env ?? {});
    if (Object.keys(env).length === 0) delete entry.env;
  }
  const newline = /\r\n/.test(text) ? '\r\n' : '\n';
  const json = JSON.stringify(parsed.root, null, indentOf(text)).replace(/\n/g, newline);
  return /\r?\n$/.test(text) ? json + newline : json;
}
