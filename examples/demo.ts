/**
 * `npm run demo`: agent-vault end to end, offline, in a few seconds. A throw-away vault, fake
 * provider keys, an agent token, OpenAI- and Anthropic-compatible servers on 127.0.0.1, calls
 * through the wrapped clients (one streamed), the audit trail, and a revocation.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createVault, openVault } from 'agent-vault';
import { Anthropic } from 'agent-vault/anthropic';
import { OpenAI } from 'agent-vault/openai';
import { credentialOf, respondLikeProvider } from './_local-provider.ts';

const color = process.env.NO_COLOR === undefined && process.stdout.isTTY;
const paint = (code: number) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const [bold, dim, green, red] = [paint(1), paint(2), paint(32), paint(31)];
const step = (n: number, text: string) => console.log(`\n${bold(`${n}.`)} ${bold(text)}`);
const mask = (value: string) => `${value.slice(0, 7)}${'•'.repeat(8)} (${value.length} chars)`;

const keys = {
  openai: `sk-demo-${randomBytes(21).toString('hex')}`,
  anthropic: `sk-ant-demo-${randomBytes(20).toString('hex')}`,
};
const dir = mkdtempSync(join(tmpdir(), 'agent-vault-demo-'));
const provider = await startProvider();

try {
  step(1, 'The owner creates a vault and stores two provider keys');
  const owner = await createVault({ dir: join(dir, 'vault'), keyFile: join(dir, 'owner.key') });
  await owner.set('openai-api-key', keys.openai);
  await owner.set('anthropic-api-key', keys.anthropic);
  const files = readdirSync(join(dir, 'vault')).filter((name) => /^[0-9a-f]{64}$/.test(name));
  console.log(`   on disk in ${dim(join(dir, 'vault'))}: ${files.length} files named by a keyed hash, ciphertext only:`);
  console.log(`   ${dim(`${files[0]?.slice(0, 16)}…`)} and so on; no name or value in the clear. The owner's key opens them:`);
  for (const secret of await owner.list()) console.log(`   • ${secret.name} v${secret.version}`);

  step(2, 'The owner creates an agent token (shown once)');
  const { token, agent } = await owner.createAgent('demo-agent', { allow: ['openai-*', 'anthropic-*'], ttl: '15m' });
  console.log(`   ${mask(token)} for "${agent.id}": allowed ${agent.allow.join(', ')}, expires ${agent.expiresAt.toISOString()}`);

  step(3, 'The agent process: a vault token, and the wrapped SDK clients');
  const vault = await openVault({ dir: join(dir, 'vault'), token });
  const openai = new OpenAI({ vault, secret: 'openai-api-key', baseURL: `${provider.origin}/v1` });
  const anthropic = new Anthropic({ vault, secret: 'anthropic-api-key', baseURL: provider.origin });
  const completion = await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Hello?' }] });
  console.log(`   OpenAI chat.completions  → "${completion.choices[0]?.message.content}"`);
  const stream = await anthropic.messages.create({
    model: 'claude-haiku-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Hello?' }],
  });
  let streamed = '';
  for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') streamed += event.delta.text;
  console.log(`   Anthropic messages (streamed) → "${streamed}"`);

  step(4, 'What the servers received');
  for (const seen of provider.received) {
    const ok = seen.credential === keys.openai || seen.credential === keys.anthropic;
    const sent = seen.header === 'authorization' ? `Authorization: Bearer ${mask(seen.credential ?? '')}` : `${seen.header}: ${mask(seen.credential ?? '')}`;
    console.log(`   ${seen.path.padEnd(22)} ${sent} ${ok ? green('✓ the real key') : red('✗')}`);
  }

  step(5, 'What the client objects hold');
  for (const [name, client] of [['openai', openai], ['anthropic', anthropic]] as const) {
    const dump = inspect(client, { depth: 6, showHidden: true });
    const leaked = dump.includes(keys.openai) || dump.includes(keys.anthropic);
    console.log(`   ${name}.apiKey = ${dim(String(client.apiKey))}; inspect(client) holds a key: ${leaked ? red('yes') : green('no')}`);
  }

  step(6, 'The owner revokes the agent: the next request fails before anything is sent');
  await owner.revokeAgent('demo-agent');
  const before = provider.received.length;
  const refusal = await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Still there?' }] })
    .then(() => 'it went through', (error: { name: string; code: string; message: string }) => `${error.name} (${error.code}): ${error.message}`);
  console.log(`   ${refusal}`);
  console.log(`   requests that reached the server: ${provider.received.length - before}`);

  step(7, 'The audit trail (newest first), and its verification');
  for await (const record of owner.readAudit({ limit: 12 })) {
    const outcome = record.outcome === 'ok' ? green(record.outcome) : red(record.outcome);
    console.log(`   #${String(record.seq).padStart(2)} ${record.actor.padEnd(17)} ${record.action.padEnd(15)} ${(record.name ?? '').padEnd(18)} ${outcome} ${dim(record.reason ?? '')}`);
  }
  const report = await owner.verifyAudit();
  console.log(`   audit verify: ${report.ok ? green(`intact (${report.records} records, hash-chained and MACed)`) : red('BROKEN')}`);
  await vault.close();
  await owner.close();
} finally {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
}

/** OpenAI- and Anthropic-compatible answers on 127.0.0.1, remembering which credential arrived. */
async function startProvider() {
  const received: { path: string; header: string; credential: string | undefined }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      const header = req.headers.authorization ? 'authorization' : req.headers['x-api-key'] ? 'x-api-key' : 'none';
      received.push({ path: new URL(req.url ?? '/', 'http://x').pathname, header, credential: credentialOf(req) });
      const credential = credentialOf(req);
      if (credential !== keys.openai && credential !== keys.anthropic) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"bad key"}}');
        return;
      }
      respondLikeProvider(req.method ?? 'GET', req.url ?? '/', body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
