/**
 * The agent's own code, in the two shapes the supply-chain example compares:
 *   env    the usual way: `new OpenAI()` reads OPENAI_API_KEY from the environment
 *   vault  agent-vault: an agent token, and `new OpenAI({ vault, secret })`
 */
import PlainOpenAI from 'openai';
import { openVault } from 'agent-vault';
import { OpenAI } from 'agent-vault/openai';

const mode = process.argv[2];
const client = mode === 'env'
  ? new PlainOpenAI({ baseURL: process.env.DEMO_BASE_URL })
  : new OpenAI({ vault: await openVault(), secret: 'openai-api-key', baseURL: process.env.DEMO_BASE_URL });
const reply = await client.chat.completions.create({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Summarise the quarterly report.' }],
});
console.log(`the agent did its job: "${reply.choices[0]?.message.content}"`);
