import { migrateVault } from '../../_migrate.ts';
import { wipe } from '../../crypto.ts';
import type { Command } from '../_command.ts';
import { agentJson } from '../_token-output.ts';
import { locateVault, ownerUnlockAt } from '../_unlock.ts';

export const migrate: Command = {
  name: 'migrate',
  summary: 'Upgrade a format-1 vault in place to owner-signed records (prints new agent tokens)',
  usage: 'migrate',
  description:
    'Upgrade the vault to format 2 in place, under its lock: every record is re-written signed by\n' +
    'the owner, and every agent moves to its next generation, so format-1 tokens stop working. The\n' +
    'new token of each agent that is not revoked is printed once on stdout (with --json, as a list);\n' +
    'give each to its agent. Running it on a format-2 vault changes nothing.',
  args: [],
  options: {},
  examples: ['agent-vault migrate', 'agent-vault migrate --json > new-tokens.json'],
  async run({ output, dir: given, keyFile }) {
    const { dir } = locateVault({ dir: given });
    const unlock = await ownerUnlockAt({ keyFile }, dir);
    let result;
    try {
      result = await migrateVault({ dir, ...unlock });
    } finally {
      if (unlock.passphrase instanceof Uint8Array) wipe(unlock.passphrase);
    }
    if (!result.migrated) {
      output.note(`The vault in ${dir} is already format 2; nothing was changed.`);
      output.result({ migrated: false, agents: [] });
      return;
    }
    const agents = result.agents.map(({ token, agent }) => ({ ...agentJson(agent), token }));
    output.result({ migrated: true, agents }, agents.length > 0 ? agents.map((a) => `${a.id} ${a.token}`).join('\n') : undefined);
    output.note(
      `The vault in ${dir} is now format 2. Each line above is an agent and its new token, shown only this ` +
        'once; format-1 tokens no longer open anything.',
    );
  },
};
