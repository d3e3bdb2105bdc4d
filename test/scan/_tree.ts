/**
 * A developer's machine for scan and import: a home directory with shell start-up files and
 * every MCP client config format (several servers each), and a project with `.env`,
 * `.env.local`, `.env.example` and project MCP configs. Keys are random per run, so finding a
 * key's text anywhere means it came from here; beside them sit the non-secrets real files hold
 * (UUIDs, commit hashes, URLs, a base64 image, placeholders), none of which may be reported.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from '../_fixtures/index.ts';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` random characters from `alphabet`. */
export function randomText(length: number, alphabet = ALPHANUMERIC): string {
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

export interface Planted {
  value: string;
  provider: string;
  /** Where it is: the file (relative to the root) and the variable or field. */
  file: string;
  variable?: string;
  /** Whether import moves it (false: left and named, e.g. a key inside a header). */
  movable: boolean;
}

export interface Machine {
  root: string;
  home: string;
  project: string;
  planted: Planted[];
  /** Every non-secret value written, for the no-false-positive check. */
  decoys: string[];
  /** Paths (relative to root) of files the tree holds, with their bytes as written. */
  files: Map<string, Buffer>;
}

export function keys() {
  return {
    openai: `sk-proj-${randomText(48, `${ALPHANUMERIC}_-`)}`,
    anthropic: `sk-ant-api03-${randomText(86, `${ALPHANUMERIC}_-`)}`,
    groq: `gsk_${randomText(52)}`,
    mistralWindsurf: randomText(32),
    openrouter: `sk-or-v1-${randomBytes(32).toString('hex')}`,
    gemini: `AIza${randomText(35)}`,
    mistral: randomText(32),
    awsId: `AKIA${randomText(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
    awsSecret: randomText(40, `${ALPHANUMERIC}/+`),
    github: `ghp_${randomText(36)}`,
    githubHeader: `ghp_${randomText(36)}`,
    stripe: `rk_live_${randomText(32)}`,
    together: randomBytes(32).toString('hex'),
    brave: `BSA${randomText(27)}`,
    aliasKey: `sk-proj-${randomText(48)}`,
  };
}

export function makeMachine(): Machine {
  const k = keys();
  const root = tempDir('agent-vault-scan-');
  const home = join(root, 'home');
  const project = join(home, 'code', 'app');
  const files = new Map<string, Buffer>();
  const write = (path: string, text: string) => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text, { mode: 0o640 });
    files.set(path, Buffer.from(text));
  };
  const sha = randomBytes(20).toString('hex');
  const uuid = randomUUID();
  const image = `data:image/png;base64,${randomBytes(600).toString('base64')}`;
  const sentry = `https://${randomBytes(16).toString('hex')}@o123.ingest.sentry.io/456`;
  const decoys = [sha, uuid, image, sentry, randomUUID(), randomBytes(32).toString('hex')];
  const p = 'home/code/app';

  write(`${p}/.gitignore`, '.env.local\nnode_modules/\n/dist/\n');
  write(`${p}/.env`, [
    '# app settings',
    'NODE_ENV=production',
    `OPENAI_API_KEY=${k.openai}`,
    `export ANTHROPIC_API_KEY="${k.anthropic}"`,
    'DATABASE_URL=postgres://localhost:5432/app',
    `GIT_SHA=${sha}`,
    `REQUEST_ID=${uuid}`,
    `SENTRY_DSN=${sentry}`,
    `LOGO=${image}`,
    'SESSION_TOKEN_TTL=3600',
    `DEPLOY_TOKEN_ID=${decoys[4]}`,
    `CACHE_KEY=${decoys[5]}`,
    '',
  ].join('\n'));
  write(`${p}/.env.local`, `GROQ_API_KEY=${k.groq}\r\nSTRIPE_SECRET_KEY='${k.stripe}' # live\r\nGITHUB_TOKEN=${k.github}\r\n`);
  write(`${p}/.env.example`, [
    'OPENAI_API_KEY=your-key-here',
    'ANTHROPIC_API_KEY=sk-ant-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'GOOGLE_API_KEY=<your-google-api-key>',
    'MISTRAL_API_KEY=',
    'GITHUB_TOKEN=${GITHUB_TOKEN}',
    'AWS_SECRET_ACCESS_KEY=changeme',
    '',
  ].join('\n'));
  // In a git-ignored directory: not entered (documented), so not found.
  write(`${p}/dist/.env`, `OPENAI_API_KEY=sk-proj-${randomText(48)}\n`);
  write(`${p}/.mcp.json`, `${JSON.stringify({
    mcpServers: {
      'openai-tools': { command: 'node', args: ['server.js'], env: { OPENAI_API_KEY: k.openai, LOG_LEVEL: 'debug' } },
      filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me/code'] },
    },
  }, null, 2)}\n`);
  write(`${p}/.cursor/mcp.json`, `${JSON.stringify({
    mcpServers: {
      'anthropic-helper': { command: 'python', args: ['-m', 'helper'], env: { ANTHROPIC_API_KEY: k.anthropic } },
      remote: { url: 'https://mcp.example.com/sse', headers: { Authorization: `Bearer ${k.githubHeader}` } },
    },
  }, null, 4)}\n`);
  write(`${p}/.vscode/mcp.json`, `${JSON.stringify({
    inputs: [{ type: 'promptString', id: 'github_token', password: true }],
    servers: {
      gemini: { type: 'stdio', command: 'node', args: ['gemini.js'], env: { GEMINI_API_KEY: k.gemini } },
      github: { command: 'docker', args: ['run', '-i', 'ghcr.io/github/github-mcp-server'], env: { GITHUB_PERSONAL_ACCESS_TOKEN: '${input:github_token}' } },
    },
  }, null, '\t')}\n`);

  write('home/.bashrc', [
    'export PATH="$HOME/bin:$PATH"',
    `export MISTRAL_API_KEY=${k.mistral}`,
    `alias gpt='curl -H "Authorization: Bearer ${k.aliasKey}" https://api.openai.com/v1/models'`,
    `export GIT_COMMIT=${sha}`,
    '',
  ].join('\n'));
  write('home/.zshrc', `export AWS_ACCESS_KEY_ID=${k.awsId}\nexport AWS_SECRET_ACCESS_KEY="${k.awsSecret}"\n`);
  write('home/.config/fish/config.fish', `set -gx TOGETHER_API_KEY ${k.together}\nset -gx EDITOR vim\n`);
  write('home/.config/Claude/claude_desktop_config.json', `${JSON.stringify({
    mcpServers: {
      brave: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-brave-search'], env: { BRAVE_API_KEY: k.brave } },
      openai: { command: 'uvx', args: ['mcp-openai'], env: { OPENAI_API_KEY: k.openai } },
    },
  }, null, 2)}\n`);
  write('home/.claude.json', `${JSON.stringify({
    numStartups: 12, userID: randomBytes(32).toString('hex'), oauthAccount: { accountUuid: randomUUID() },
    projects: { '/home/me/code/app': { mcpServers: { groq: { command: 'node', args: ['groq.js'], env: { GROQ_API_KEY: k.groq } } } } },
    mcpServers: {},
  })}`);
  write('home/.cursor/mcp.json', '{ "mcpServers": { "broken": { "command": "node", ');
  write('home/.codeium/windsurf/mcp_config.json', `${JSON.stringify({
    mcpServers: { search: { command: 'npx', args: ['-y', 'search-mcp'], serverUrl: 'https://example.com', env: { SEARCH_REGION: 'eu' } },
      mistral: { command: 'node', args: ['mistral.js'], env: { MISTRAL_API_KEY: k.mistralWindsurf } },
      // Pointed elsewhere: under exec the key would go to OpenAI, so it stays.
      openrouter: { command: 'node', args: ['or.js'], env: { OPENAI_API_KEY: k.openrouter, OPENAI_BASE_URL: 'https://openrouter.ai/api/v1' } } },
  }, null, 2)}\n`);

  const planted: Planted[] = [
    { value: k.openai, provider: 'openai', file: `${p}/.env`, variable: 'OPENAI_API_KEY', movable: true },
    { value: k.anthropic, provider: 'anthropic', file: `${p}/.env`, variable: 'ANTHROPIC_API_KEY', movable: true },
    { value: k.groq, provider: 'groq', file: `${p}/.env.local`, variable: 'GROQ_API_KEY', movable: true },
    { value: k.stripe, provider: 'generic', file: `${p}/.env.local`, variable: 'STRIPE_SECRET_KEY', movable: true },
    { value: k.github, provider: 'github', file: `${p}/.env.local`, variable: 'GITHUB_TOKEN', movable: true },
    { value: k.openai, provider: 'openai', file: `${p}/.mcp.json`, variable: 'OPENAI_API_KEY', movable: true },
    { value: k.anthropic, provider: 'anthropic', file: `${p}/.cursor/mcp.json`, variable: 'ANTHROPIC_API_KEY', movable: true },
    { value: k.githubHeader, provider: 'github', file: `${p}/.cursor/mcp.json`, movable: false },
    { value: k.gemini, provider: 'google', file: `${p}/.vscode/mcp.json`, variable: 'GEMINI_API_KEY', movable: true },
    { value: k.mistral, provider: 'mistral', file: 'home/.bashrc', variable: 'MISTRAL_API_KEY', movable: true },
    { value: k.aliasKey, provider: 'openai', file: 'home/.bashrc', movable: false },
    { value: k.awsId, provider: 'aws', file: 'home/.zshrc', variable: 'AWS_ACCESS_KEY_ID', movable: true },
    { value: k.awsSecret, provider: 'aws', file: 'home/.zshrc', variable: 'AWS_SECRET_ACCESS_KEY', movable: true },
    { value: k.together, provider: 'generic', file: 'home/.config/fish/config.fish', variable: 'TOGETHER_API_KEY', movable: true },
    { value: k.brave, provider: 'generic', file: 'home/.config/Claude/claude_desktop_config.json', variable: 'BRAVE_API_KEY', movable: false },
    { value: k.openai, provider: 'openai', file: 'home/.config/Claude/claude_desktop_config.json', variable: 'OPENAI_API_KEY', movable: true },
    { value: k.groq, provider: 'groq', file: 'home/.claude.json', variable: 'GROQ_API_KEY', movable: true },
    // The same variable as ~/.bashrc with another value: left, both named.
    { value: k.mistralWindsurf, provider: 'mistral', file: 'home/.codeium/windsurf/mcp_config.json', variable: 'MISTRAL_API_KEY', movable: false },
    { value: k.openrouter, provider: 'openai', file: 'home/.codeium/windsurf/mcp_config.json', variable: 'OPENAI_API_KEY', movable: false },
  ];
  return { root, home, project, planted, decoys, files };
}

/** Every file under `dir`, as paths relative to `root`. */
export function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(root, path) : [path.slice(root.length + 1)];
  });
}

/** Every file under `dir` whose bytes contain `needle`. */
export function filesContaining(root: string, needle: string): string[] {
  return listFiles(root).filter((path) => readFileSync(join(root, path)).includes(needle));
}
