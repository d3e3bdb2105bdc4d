// An unchanged Anthropic app: the SDK reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, nothing else.
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic();
const request = { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
const message = await client.messages.create(request);
const stream = [];
for await (const event of await client.messages.create({ ...request, stream: true })) {
  if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') stream.push(event.delta.text);
}
console.log(JSON.stringify({ text: message.content[0].text, stream, pid: process.pid }));
