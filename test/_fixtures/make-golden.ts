// Writes the golden vaults of today's format under test/_fixtures/golden-v2/ (see golden.ts for
// what they hold; golden/ holds the format-1 ones an earlier version of this script wrote).
// Run it only to make a deliberate new format: the point of the checked-in files is that code
// written later must still open what this code wrote.
//   node test/_fixtures/make-golden.ts        (Node 24: types are stripped)
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createVault } from '../../src/index.ts';
import { AGENTS, DELETED, GOLDEN_V2_DIR as GOLDEN_DIR, type GoldenTokens, KEYFILE_AGENT, KEYFILE_SECRET, MADE_AT, OPENAI_V1, PASSPHRASE, PATHS_V2 as PATHS, SECRETS } from './golden.ts';
import { FAST_KDF } from './vault.ts';

if (existsSync(GOLDEN_DIR) && !process.argv.includes('--replace')) {
  console.error(`${GOLDEN_DIR} exists. Remove it (or pass --replace) only for a deliberate format change.`);
  process.exit(1);
}
rmSync(GOLDEN_DIR, { recursive: true, force: true });
mkdirSync(GOLDEN_DIR, { recursive: true });
// A clock that ticks a second per reading: records get distinct, fixed-era times.
let tick = 0;
const now = () => MADE_AT + 1000 * tick++;

const configDir = false; // the owner's remembered states stay out of the fixtures and ~/.config
const owner = await createVault({ dir: PATHS.passphraseVault, passphrase: PASSPHRASE, passphraseParams: FAST_KDF, now, configDir });
await owner.set('openai-api-key', OPENAI_V1);
for (const [name, { value }] of Object.entries(SECRETS)) await owner.set(name, value);
await owner.set(DELETED, 'soon gone');
await owner.delete(DELETED);
const token = async (id: keyof typeof AGENTS) => (await owner.createAgent(id, { allow: [...AGENTS[id].allow], ttl: AGENTS[id].ttl })).token;
const goldenBot = await token('golden-bot');
const rotatedBefore = await token('rotated-bot');
const rotated = (await owner.rotateAgent('rotated-bot', { ttl: AGENTS['rotated-bot'].ttl })).token;
const revoked = await token('revoked-bot');
await owner.revokeAgent('revoked-bot');
await owner.close();

const keyOwner = await createVault({ dir: PATHS.keyFileVault, keyFile: PATHS.keyFile, now, configDir });
await keyOwner.set(KEYFILE_SECRET.name, KEYFILE_SECRET.value);
const keyFileBot = (await keyOwner.createAgent(KEYFILE_AGENT.id, { allow: [...KEYFILE_AGENT.allow], ttl: KEYFILE_AGENT.ttl })).token;
await keyOwner.close();

const tokens: GoldenTokens = {
  'golden-bot': goldenBot, 'rotated-bot-before': rotatedBefore, 'rotated-bot': rotated, 'revoked-bot': revoked, 'keyfile-bot': keyFileBot,
};
writeFileSync(PATHS.tokens, `${JSON.stringify(tokens, null, 2)}\n`);
console.log(`golden vaults written to ${GOLDEN_DIR}`);
