/**
 * MCP client configurations. Claude Desktop, Claude Code (`~/.claude.json`, `.mcp.json`),
 * Cursor and Windsurf keep servers under `mcpServers`; `~/.claude.json` also per project under
 * `projects[dir].mcpServers`; VS Code keeps them under `servers` and allows comments (JSONC).
 * A server is `{command, args, env}` (stdio) or `{url, headers}` (remote).
 */

export interface McpServer {
  /** The keys from the file's root to the server object, for rewriting it in place. */
  path: string[];
  name: string;
  entry: Record<string, unknown>;
}

export type McpParse =
  | { ok: true; servers: McpServer[]; root: unknown; strictJson: boolean }
  | { ok: false; reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSONC to JSON: comments and trailing commas out, strings untouched. */
function stripJsonc(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else out += char;
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

/** The servers in one config file. `strictJson` false: it parsed only as JSONC (not rewritten). */
export function parseMcpConfig(text: string): McpParse {
  let root: unknown;
  let strictJson = true;
  try {
    root = JSON.parse(text);
  } catch {
    strictJson = false;
    try {
      root = JSON.parse(stripJsonc(text));
    } catch {
      return { ok: false, reason: 'not valid JSON' };
    }
  }
  if (!isObject(root)) return { ok: false, reason: 'not a JSON object' };
  const servers: McpServer[] = [];
  const groups: string[][] = [['mcpServers'], ['servers']];
  if (isObject(root.projects)) for (const dir of Object.keys(root.projects)) groups.push(['projects', dir, 'mcpServers']);
  for (const group of groups) {
    const holder = at(root, group);
    if (holder === undefined) continue;
    if (!isObject(holder)) return { ok: false, reason: `"${group.join('.')}" is not an object of servers` };
    for (const [name, entry] of Object.entries(holder)) {
      if (!isObject(entry)) return { ok: false, reason: `the server "${name}" is not an object` };
      servers.push({ path: [...group, name], name, entry });
    }
  }
  return { ok: true, servers, root, strictJson };
}

/** The value at `path` under `root`, or undefined. */
export function at(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Every string in a server entry with where it sits (`env.OPENAI_API_KEY`, `args[2]`). */
export function serverStrings(entry: Record<string, unknown>): { field: string; variable?: string; value: string }[] {
  const strings: { field: string; variable?: string; value: string }[] = [];
  for (const group of ['env', 'headers'] as const) {
    const values = entry[group];
    if (!isObject(values)) continue;
    for (const [variable, value] of Object.entries(values)) {
      if (typeof value === 'string') strings.push({ field: `${group}.${variable}`, variable, value });
    }
  }
  if (Array.isArray(entry.args)) {
    entry.args.forEach((value, index) => {
      if (typeof value === 'string') strings.push({ field: `args[${index}]`, value });
    });
  }
  for (const field of ['command', 'url'] as const) {
    const value = entry[field];
    if (typeof value === 'string') strings.push({ field, value });
  }
  return strings;
}

/** The JSON indentation a file uses, so a rewrite looks like its original. */
export function indentOf(text: string): string | number {
  const match = /^[{[]\r?\n([ \t]+)/.exec(text);
  return match ? (match[1] as string) : 2;
}
