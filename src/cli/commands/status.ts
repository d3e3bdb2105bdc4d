import { statSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_FILE_NAME } from '../../audit/file.ts';
import type { Command } from '../_command.ts';
import { formatTime } from '../_output.ts';
import { locateVault, noVault, readHeader } from '../_unlock.ts';

export const status: Command = {
  name: 'status',
  summary: 'Show which vault is in use and how it is unlocked',
  usage: 'status [--dir PATH]',
  description:
    'Show the vault directory this command line uses (and why), the vault id, when it was created and\n' +
    'how it is unlocked. Nothing is unlocked and nothing is written. Exits 1 when there is no vault.',
  args: [],
  options: {},
  examples: ['agent-vault status', 'agent-vault status --json'],
  async run({ dir: dirOption, output }) {
    const { dir, source } = locateVault({ dir: dirOption });
    const header = await readHeader(dir);
    if (!header) throw noVault(dir);
    const unlock = header.unlock.method === 'passphrase'
      ? { method: 'passphrase', kdf: 'argon2id', opslimit: header.unlock.opslimit, memlimitMiB: header.unlock.memlimit / 2 ** 20 }
      : { method: 'key-file' };
    const agentEnv = process.env.AGENT_VAULT_TOKEN_FILE ? 'AGENT_VAULT_TOKEN_FILE'
      : process.env.AGENT_VAULT_TOKEN ? 'AGENT_VAULT_TOKEN' : undefined;
    const auditPath = join(dir, AUDIT_FILE_NAME);
    const auditBytes = fileSize(auditPath);
    const data = {
      dir,
      source,
      id: Buffer.from(header.vaultId).toString('hex'),
      createdAt: new Date(header.createdAt).toISOString(),
      unlock,
      agentTokenFrom: agentEnv ?? null,
      audit: { path: auditPath, bytes: auditBytes ?? null },
    };
    const unlockText = header.unlock.method === 'passphrase'
      ? `passphrase (Argon2id, ${unlock.memlimitMiB} MiB, ${header.unlock.opslimit} passes)`
      : 'key file (--key-file)';
    output.result(
      data,
      [
        `Vault      ${dir} (${source})`,
        `Id         ${data.id}`,
        `Created    ${formatTime(header.createdAt)}`,
        `Unlock     ${unlockText}`,
        `Audit log  ${auditPath} ${auditBytes === undefined ? '(missing)' : `(${auditBytes} bytes; check it: agent-vault audit verify)`}`,
        `Agent env  ${agentEnv ? `${agentEnv} is set in this shell` : 'no agent token in this shell'}`,
      ].join('\n'),
    );
  },
};

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
