/** What one leak-canary test observed, searched at its end. */
import { expect } from 'vitest';
import { describeFindings, type Finding, type LeakScanner, views } from './_leak-scan.ts';

/**
 * Everything observed in one test: what was printed, and every view of every value handed out,
 * rendered when it was handed out (a SecretBuffer looks different during and after use).
 */
export class Observed {
  readonly lines: string[] = [];
  readonly #views: [string, string | Uint8Array][] = [];

  keep<T>(where: string, value: T): T {
    for (const [view, content] of views(value)) {
      this.#views.push([`${where} ${view}`, typeof content === 'string' ? content : content.slice()]);
    }
    return value;
  }

  /** Run `fn`, keeping its result or its error. */
  async outcome(where: string, fn: () => unknown): Promise<unknown> {
    try {
      return this.keep(where, await fn());
    } catch (error) {
      return this.keep(`${where} (error)`, error);
    }
  }

  findings(scanner: LeakScanner): Finding[] {
    return [
      ...this.#views.flatMap(([where, content]) => scanner.scan(where, content)),
      ...this.lines.flatMap((line, i) => scanner.scan(`printed line ${i}`, line)),
    ];
  }
}

export function expectClean(findings: Finding[]): void {
  expect(findings, describeFindings(findings)).toEqual([]);
}
