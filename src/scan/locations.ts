/**
 * Where keys live outside a project: shell start-up files and the MCP client configs, under the
 * home directory (HOME, or USERPROFILE on Windows: `os.homedir()` reads them, which is how tests
 * point it at a fixture), and where import keeps its backups.
 */
import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HomeFile {
  path: string;
  kind: 'shell-rc' | 'mcp-config';
  /** Who reads this file, for the report (`Claude Desktop`, `zsh`). */
  client: string;
}

/** XDG_CONFIG_HOME, else ~/.config (Linux and the BSDs; also what many tools use on macOS). */
function xdgConfig(home: string, env: NodeJS.ProcessEnv): string {
  return env.XDG_CONFIG_HOME || join(home, '.config');
}

/** Every place we look, whether or not the file exists; the caller reads those that do. */
export function homeFiles(home = homedir(), env: NodeJS.ProcessEnv = process.env): HomeFile[] {
  const config = xdgConfig(home, env);
  const macSupport = join(home, 'Library', 'Application Support');
  const appData = env.APPDATA || join(home, 'AppData', 'Roaming');
  const rc = (name: string, client: string): HomeFile => ({ path: join(home, name), kind: 'shell-rc', client });
  const mcp = (path: string, client: string): HomeFile => ({ path, kind: 'mcp-config', client });
  const fishConfD = join(config, 'fish', 'conf.d');
  let fishSnippets: string[] = [];
  try {
    fishSnippets = readdirSync(fishConfD).filter((name) => name.endsWith('.fish'));
  } catch {
    // no conf.d: nothing to add
  }
  return [
    rc('.profile', 'sh'), rc('.bashrc', 'bash'), rc('.bash_profile', 'bash'), rc('.bash_login', 'bash'),
    rc('.zshenv', 'zsh'), rc('.zprofile', 'zsh'), rc('.zshrc', 'zsh'),
    { path: join(config, 'fish', 'config.fish'), kind: 'shell-rc', client: 'fish' },
    ...fishSnippets.map((name): HomeFile => ({ path: join(fishConfD, name), kind: 'shell-rc', client: 'fish' })),
    // Claude Desktop keeps one file per OS; we read whichever exist (a synced home may hold several).
    mcp(join(macSupport, 'Claude', 'claude_desktop_config.json'), 'Claude Desktop'),
    mcp(join(appData, 'Claude', 'claude_desktop_config.json'), 'Claude Desktop'),
    mcp(join(config, 'Claude', 'claude_desktop_config.json'), 'Claude Desktop'),
    mcp(join(home, '.claude.json'), 'Claude Code'),
    mcp(join(home, '.cursor', 'mcp.json'), 'Cursor'),
    mcp(join(home, '.codeium', 'windsurf', 'mcp_config.json'), 'Windsurf'),
    mcp(join(macSupport, 'Code', 'User', 'mcp.json'), 'VS Code'),
    mcp(join(appData, 'Code', 'User', 'mcp.json'), 'VS Code'),
    mcp(join(config, 'Code', 'User', 'mcp.json'), 'VS Code'),
  ];
}

/** agent-vault's own directory in the owner's config directory (APPDATA on Windows). */
function ownConfig(home: string, env: NodeJS.ProcessEnv): string {
  const base = process.platform === 'win32' ? env.APPDATA || join(home, 'AppData', 'Roaming') : xdgConfig(home, env);
  return join(base, 'agent-vault');
}

/** Where import keeps backups and manifests: the owner's config directory, never a project. */
export function importsDir(home = homedir(), env: NodeJS.ProcessEnv = process.env): string {
  return join(ownConfig(home, env), 'imports');
}

/** Where import keeps the token files of the agents it makes for MCP servers. */
export function tokensDir(home = homedir(), env: NodeJS.ProcessEnv = process.env): string {
  return join(ownConfig(home, env), 'tokens');
}
