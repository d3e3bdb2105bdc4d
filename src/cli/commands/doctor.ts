import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from '../_command.ts';
import {
  type Finding, gitWorkTree, nodeVersion, permissions, plaintextKeys, sdkVersions, tokenInVariable,
} from '../_doctor-checks.ts';
import { locateVault } from '../_unlock.ts';

export const doctor: Command = {
  name: 'doctor',
  summary: 'Check this machine for what undoes the vault (keys in env and .env, modes, git)',
  usage: 'doctor',
  description:
    'Check, without unlocking anything: provider keys still in the environment or in files here (as\n' +
    '`agent-vault scan` finds them), vault and credential files other users can read, a vault inside a git work tree that\n' +
    'is not ignored, an agent token in a variable instead of a file, the Node.js version and the SDK\n' +
    'versions this project would load. Names, paths and modes only: no value is ever printed. Exit 0\n' +
    'either way; the JSON lists each finding with status ok or warn.',
  args: [],
  options: {},
  examples: ['agent-vault doctor', 'agent-vault doctor --json'],
  async run({ output, dir, keyFile }) {
    const { dir: vaultDir } = locateVault({ dir });
    const cwd = process.cwd();
    const findings: Finding[] = [
      ...plaintextKeys(cwd, process.env),
      permissions(existsSync(vaultDir) ? vaultDir : undefined, process.env, keyFile === undefined ? undefined : resolve(keyFile)),
      gitWorkTree(vaultDir),
      tokenInVariable(process.env),
      nodeVersion(),
      ...sdkVersions(cwd, supportedPeers()),
    ];
    const mark = (finding: Finding) => (finding.status === 'ok' ? output.out('green', 'ok  ') : output.out('yellow', 'warn'));
    const warnings = findings.filter((finding) => finding.status === 'warn').length;
    output.result({ vault: vaultDir, findings, warnings }, [
      `Vault: ${vaultDir}${existsSync(vaultDir) ? '' : ' (none yet)'}`,
      ...findings.map((finding) => `${mark(finding)}  ${finding.check}: ${finding.message}`),
    ].join('\n'));
    if (!output.json) output.note(warnings === 0 ? 'Nothing to fix.' : `${warnings} thing${warnings === 1 ? '' : 's'} to fix.`);
  },
};

/** The peer ranges from this package's own package.json (dist/cli/ or src/cli/ is two levels down). */
function supportedPeers(): Record<string, string> {
  for (let at = dirname(realpathSync(process.argv[1] ?? '.')); ; at = dirname(at)) {
    const path = join(at, 'package.json');
    if (existsSync(path)) {
      const json = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; peerDependencies?: Record<string, string> };
      if (json.name === 'agent-vault') return json.peerDependencies ?? {};
    }
    if (dirname(at) === at) return {};
  }
}
