import { existsSync } from 'node:fs';
import { initCrypto } from '../../crypto.ts';
import { markInVault } from '../../scan/index.ts';
import type { Command } from '../_command.ts';
import { findingsTable, noteProblems, scanFor, WHERE_OPTIONS } from '../_moving-in.ts';
import { locateVault, PASSPHRASE_FILE_ENV, readHeader, withOwnerVault } from '../_unlock.ts';

export const scan: Command = {
  name: 'scan',
  summary: 'Find plaintext provider keys: environment, .env files, shell rc files, MCP configs',
  usage: 'scan [PATH...] [--no-vault] [--no-environment] [--no-home]',
  description:
    'Search for provider keys in plaintext: this process\'s environment, the .env* files and project MCP\n' +
    'configs (.mcp.json, .cursor/mcp.json, .vscode/mcp.json) under each PATH (default: the working\n' +
    'directory), the shell start-up files (~/.bashrc, ~/.zshrc, ~/.profile, fish config...) and the MCP\n' +
    'client configs (Claude Desktop, ~/.claude.json, Cursor, VS Code, Windsurf). Directories that\n' +
    '.gitignore ignores are not entered (nor .git and node_modules); key files it ignores are still\n' +
    'read and marked git-ignored: not committed, but still plaintext on disk.\n' +
    '\n' +
    'Recognises OpenAI, Anthropic, Google, Groq, Mistral, AWS, GitHub keys and agent-vault tokens by\n' +
    'shape, and random-looking values in variables named like keys (*_API_KEY, *_TOKEN, *_SECRET...).\n' +
    'Prints where each key is, masked (a public prefix and the length, never the value). With a vault,\n' +
    'the owner unlocks it and each key already stored is named, compared through keyed digests under a\n' +
    'one-time random key (never the values themselves); --no-vault skips that. Reads only.',
  args: [],
  rest: 'PATH',
  options: {
    'no-vault': { type: 'boolean', description: 'Do not unlock the vault to tell which keys it already holds.' },
    ...WHERE_OPTIONS,
  },
  examples: ['agent-vault scan', 'agent-vault scan ~/code --no-vault --json', 'agent-vault scan . --no-home --no-environment'],
  async run({ args, options, output, dir, keyFile }) {
    await initCrypto(); // agent-vault tokens are recognised by their checksum
    const report = scanFor(args, options);
    const vaultDir = locateVault({ dir }).dir;
    let compared = false;
    if (options['no-vault'] !== true && report.findings.length > 0 && existsSync(vaultDir)) {
      const header = await readHeader(vaultDir);
      const unattended = header?.unlock.method === 'key-file' ? keyFile !== undefined
        : Boolean(process.env[PASSPHRASE_FILE_ENV]) || (process.stdin.isTTY === true && process.stderr.isTTY === true);
      if (header && unattended) {
        await withOwnerVault({ dir, keyFile }, (vault) => markInVault(report.findings, vault));
        compared = true;
      } else if (header) {
        output.note(`Not compared with the vault in ${vaultDir}: it cannot be unlocked here (no terminal, ${PASSPHRASE_FILE_ENV} or --key-file).`);
      }
    }
    noteProblems(output, report);
    output.result(
      { findings: report.findings, problems: report.problems, filesRead: report.filesRead, comparedWithVault: compared },
      report.findings.length ? findingsTable(output, report.findings) : undefined,
    );
    if (!output.json) {
      const stored = report.findings.filter((finding) => finding.inVault !== undefined).length;
      output.note(
        report.findings.length === 0
          ? `No plaintext keys found (${report.filesRead} files read).`
          : `${report.findings.length} plaintext key(s) in ${report.filesRead} file(s) read` +
            (compared ? `; ${stored} already in the vault` : '') +
            '. Move them into the vault: agent-vault import',
      );
    }
  },
};
