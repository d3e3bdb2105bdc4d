// An unchanged OpenAI app: the SDK reads OPENAI_BASE_URL and OPENAI_API_KEY, nothing else.
import OpenAI from 'openai';

const client = new OpenAI();
const messages = [{ role: 'user', content: 'hi' }];
const completion = await client.chat.completions.create({ model: 'gpt-test', messages });
const stream = [];
for await (const chunk of await client.chat.completions.create({ model: 'gpt-test', messages, stream: true })) {
  if (chunk.choices[0]?.delta?.content) stream.push(chunk.choices[0].delta.content);
}
console.log(JSON.stringify({ text: completion.choices[0].message.content, stream, pid: process.pid }));
