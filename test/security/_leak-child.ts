// The leak canary's child process: an agent app with every debug log on (OPENAI_LOG, ANTHROPIC_LOG,
// DEBUG, NODE_DEBUG), printing what apps print (the vault, SecretBuffers, errors, process.env),
// and dying of an uncaught SDK error at the end. The parent searches its stdout and stderr.
//
// Usage: node _leak-child.ts vault <dir> <secret name> <api origin> <closed origin>
//        node _leak-child.ts baseline <api origin>     (the .env way: the key in OPENAI_API_KEY)
import OpenAIBase from 'openai';
import { Anthropic } from '../../adapters/anthropic.ts';
import { createVaultFetch } from '../../adapters/fetch.ts';
import { OpenAI } from '../../adapters/openai.ts';
import { openVault } from '../../src/index.ts';

const [mode, ...args] = process.argv.slice(2);
const messages = [{ role: 'user' as const, content: 'hi' }];

async function printed(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    console.log(what, await fn());
  } catch (error) {
    console.error(what, error);
  }
}

if (mode === 'baseline') {
  const [api] = args as [string];
  const client = new OpenAIBase({ baseURL: `${api}/ok/v1`, maxRetries: 0 });
  await printed('baseline call', () => client.chat.completions.create({ model: 'm', messages }));
  console.log('environment', process.env);
} else {
  const [dir, name, api, closed] = args as [string, string, string, string];
  const vault = await openVault({ dir });
  console.log('token left in the environment:', 'AGENT_VAULT_TOKEN' in process.env);
  console.log(`REVEAL ${await vault.get(name)}`);
  console.log('vault', vault, JSON.stringify(vault));
  console.dir(vault, { depth: null, showHidden: true });
  await vault.use(name, (secret) => {
    console.log('secret', secret, `${secret}`, JSON.stringify({ secret }));
    console.dir(secret, { showHidden: true, depth: null });
  });

  for (const path of ['ok', 'fail500', 'reset', 'redirect']) {
    // The default transport on Node (hardened: the key written at the socket), then the standard one.
    for (const transport of ['auto', 'standard'] as const) {
      const openai = new OpenAI({ vault, secret: name, baseURL: `${api}/${path}/v1`, maxRetries: 1, transport });
      await printed(`openai ${path} ${transport}`, () => openai.chat.completions.create({ model: 'm', messages }));
      await printed(`openai ${path} ${transport} stream`, async () => {
        const chunks = [];
        for await (const chunk of await openai.chat.completions.create({ model: 'm', messages, stream: true })) chunks.push(chunk);
        return chunks;
      });
      console.log('openai client', openai);
      const anthropic = new Anthropic({ vault, secret: name, baseURL: `${api}/${path}`, maxRetries: 1, transport });
      await printed(`anthropic ${path} ${transport}`, () => anthropic.messages.create({ model: 'm', max_tokens: 8, messages }));
      console.log('anthropic client', anthropic);
    }
  }
  const fetch = createVaultFetch(vault, { secret: name, origin: api, header: 'authorization' });
  const standardFetch = createVaultFetch(vault, { secret: name, origin: api, header: 'authorization', transport: 'standard' });
  await printed('standard fetch', () => standardFetch(`${api}/ok/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages }) }));
  await printed('fetch', () => fetch(`${api}/ok/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages }) }));
  await printed('fetch refused', () => fetch(`${closed}/v1/chat/completions`, { method: 'POST', body: '{}' }));
  await printed('not granted', () => vault.get('not-granted-secret'));
  await printed('no such secret', () => vault.use(`${name}-missing`, () => undefined));
  await printed('bad token', () => openVault({ dir, token: 'avt_AAAA' }));
  console.log('environment', process.env);
  // Dies the way apps do: an SDK error nobody caught (connection refused, with its cause chain).
  await new OpenAI({ vault, secret: name, baseURL: `${closed}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'm', messages });
}
