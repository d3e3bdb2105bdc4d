/**
 * Loaded with `node --import`: prints, at exit, the built modules (dist/) this process loaded, one
 * per line after a `loaded:` line, each as the sources esbuild put in it (its `// src/…` lines).
 */
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const loaded = new Set<string>();

registerHooks({
  load(url, context, next) {
    if (url.startsWith('file:') && url.includes('/dist/')) loaded.add(fileURLToPath(url));
    return next(url, context);
  },
});

process.on('exit', () => {
  const sources = [...loaded].flatMap((path) => readFileSync(path, 'utf8').match(/^\/\/ (src|adapters)\/\S+\.ts$/gm) ?? []);
  process.stdout.write(`loaded:\n${[...new Set(sources.map((line) => line.slice(3)))].join('\n')}\n`);
});
