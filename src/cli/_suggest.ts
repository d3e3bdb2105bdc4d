/**
 * "Did you mean": the closest known word to a mistyped one, by edit distance. Used for command
 * names and secret names; the caller decides whether the typed word may be shown at all.
 */
import { SecretNotFoundError } from '../errors.ts';

/** Levenshtein distance, with a transposition counted as one edit (`lsit` → `list`). */
function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The known word closest to `typed`, if it is close enough to be a typo (a third of its length, at least 1). */
export function closest(typed: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(typed.length / 3));
  let best: { word: string; score: number } | undefined;
  for (const word of known) {
    const score = distance(typed.toLowerCase(), word.toLowerCase());
    if (score <= limit && (!best || score < best.score)) best = { word, score };
  }
  return best?.word;
}

/** ` Did you mean \`agent-vault list\`?`, or nothing. */
export function didYouMean(typed: string, known: readonly string[], render: (word: string) => string): string {
  const word = closest(typed, known);
  return word === undefined ? '' : ` Did you mean ${render(word)}?`;
}

/** Run `fn`; a SECRET_NOT_FOUND from it gains the closest existing name (the owner may list them). */
export async function withNameHint<T>(vault: { list(): Promise<{ name: string }[]> }, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof SecretNotFoundError)) throw error;
    const hint = didYouMean(name, (await vault.list()).map((secret) => secret.name), (word) => JSON.stringify(word));
    throw new SecretNotFoundError(`No secret named ${JSON.stringify(name)} in this vault.${hint} See: agent-vault list`);
  }
}
