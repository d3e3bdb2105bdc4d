// Writes the golden vault of a rotation in its grace under test/_fixtures/golden-grace/ (see
// golden-grace.ts). Like make-golden.ts: run it only for a deliberate format change.
//   node test/_fixtures/make-golden-grace.ts
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createVault } from '../../src/index.ts';
import { MADE_AT } from './golden.ts';
import { GOLDEN_GRACE_DIR, GRACE_AGENT, GRACE_PATHS, GRACE_SECRET, type GraceTokens } from './golden-grace.ts';

if (existsSync(GOLDEN_GRACE_DIR)) {
  console.error(`${GOLDEN_GRACE_DIR} exists. Remove it only for a deliberate format change.`);
  process.exit(1);
}
mkdirSync(GOLDEN_GRACE_DIR, { recursive: true });
let tick = 0;
const now = () => MADE_AT + 1000 * tick++;
const owner = await createVault({ dir: GRACE_PATHS.vault, keyFile: GRACE_PATHS.keyFile, now, configDir: false });
await owner.set(GRACE_SECRET.name, GRACE_SECRET.value);
const { token: before } = await owner.createAgent(GRACE_AGENT.id, { allow: [...GRACE_AGENT.allow], ttl: GRACE_AGENT.ttl });
const { token: after } = await owner.rotateAgent(GRACE_AGENT.id, { grace: GRACE_AGENT.grace });
await owner.close();
const tokens: GraceTokens = { before, after };
writeFileSync(GRACE_PATHS.tokens, `${JSON.stringify(tokens, null, 2)}\n`);
console.log(`golden grace vault written to ${GOLDEN_GRACE_DIR}`);
