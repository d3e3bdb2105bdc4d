/** Routes: the built-in list, user-defined routes and upstream overrides, checked strictly. */
import { describe, expect, it } from 'vitest';
import { BUILTIN_ROUTES, defineRoute, resolveRoutes } from '../../src/broker/index.ts';

describe('broker routes', () => {
  it('the built-in routes go to the real provider origins over https, each with its header', () => {
    expect(BUILTIN_ROUTES.map((route) => [route.name, route.upstream, route.header])).toEqual([
      ['openai', 'https://api.openai.com', 'authorization'],
      ['anthropic', 'https://api.anthropic.com', 'x-api-key'],
      ['gemini', 'https://generativelanguage.googleapis.com', 'x-goog-api-key'],
      ['groq', 'https://api.groq.com', 'authorization'],
      ['mistral', 'https://api.mistral.ai', 'authorization'],
    ]);
  });

  it('a user-defined route: Bearer for authorization, variables named after it by default', () => {
    expect(defineRoute({ name: 'together', upstream: 'https://api.together.xyz/', secret: 'together-key', header: 'Authorization' })).toEqual({
      name: 'together', upstream: 'https://api.together.xyz', secret: 'together-key', header: 'authorization', scheme: 'Bearer',
      errorShape: 'openai', env: { baseUrl: ['TOGETHER_BASE_URL'], apiKey: ['TOGETHER_API_KEY'] },
    });
  });

  it.each([
    [{ name: 'x', upstream: 'http://api.example.com', secret: 's', header: 'h' }, 'must be https'],
    [{ name: 'x', upstream: 'https://user:pw@api.example.com', secret: 's', header: 'h' }, 'no credentials'],
    [{ name: 'x', upstream: 'https://api.example.com/?q=1', secret: 's', header: 'h' }, 'no credentials, query'],
    [{ name: 'X Y', upstream: 'https://a.example', secret: 's', header: 'h' }, 'lower-case letters'],
    [{ name: 'x', upstream: 'https://a.example', header: 'h' }, 'vault secret'],
    [{ name: 'x', upstream: 'https://a.example', secret: 's', header: 'bad header' }, 'header'],
    [{ name: 'x', upstream: 'https://a.example', secret: 's', header: 'h', env: { baseUrl: ['AGENT_VAULT_DIR'], apiKey: [] } }, 'invalid "env"'],
    [{ name: 'x', upstream: 'https://a.example', secret: 's', header: 'h', errorShape: 'xml' }, 'errorShape'],
  ])('refuses %j', (input, message) => {
    expect(() => defineRoute(input)).toThrow(message);
  });

  it('--upstream overrides a route (plain http allowed there), and names only known routes', () => {
    const routes = resolveRoutes({ upstreams: ['openai=http://127.0.0.1:8080/'] });
    expect(routes.find((route) => route.name === 'openai')!.upstream).toBe('http://127.0.0.1:8080');
    expect(() => resolveRoutes({ upstreams: ['nope=http://127.0.0.1:1'] })).toThrow('known route');
    expect(() => resolveRoutes({ upstreams: ['openai'] })).toThrow('ROUTE=URL');
    expect(() => resolveRoutes({ upstreams: ['openai=ftp://x'] })).toThrow('must be https');
  });

  it('a routes file may replace a built-in route; plain http there only with allowHttp', () => {
    const custom = [{ name: 'openai', upstream: 'http://127.0.0.1:9', secret: 'other-key', header: 'authorization' }];
    expect(() => resolveRoutes({ custom })).toThrow('must be https');
    expect(resolveRoutes({ custom, allowHttp: true }).find((route) => route.name === 'openai')!.secret).toBe('other-key');
  });
});
