/** The README's code blocks by name, for the tests that run them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');

/**
 * Every ```ts or ```sh block must be marked `<!-- readme-test: NAME -->`, or `fragment` when it
 * is deliberately not runnable; returns the runnable ones by name, and throws on an unmarked one.
 */
export function readmeBlocks(): Map<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const found = new Map<string, string>();
  const pattern = /(?:<!-- readme-test: ([^\s]+)[^>]*-->\n)?```(ts|sh)\n([\s\S]*?)```/g;
  for (const match of readme.matchAll(pattern)) {
    const [, name, lang, body] = match;
    if (!name) throw new Error(`README has an unmarked \`\`\`${lang} block:\n${body!.slice(0, 200)}`);
    if (name !== 'fragment') found.set(name, body!);
  }
  return found;
}

/** Files that import 'agent-vault' must live inside the package to resolve it (self-reference). */
export const scratch = join(root, 'test', '.readme-scratch');
