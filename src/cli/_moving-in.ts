/** What `scan` and `import` share: the options that choose where to look, and the findings table. */
import type { OptionSpecs, OptionValues } from './_args.ts';
import type { Output } from './_output.ts';
import { table } from './_output.ts';
import { type Finding, scan, type ScanReport } from '../scan/index.ts';

export const WHERE_OPTIONS: OptionSpecs = {
  'no-environment': { type: 'boolean', description: "Do not search this process's environment variables." },
  'no-home': { type: 'boolean', description: 'Do not search the shell start-up files and MCP client configs in the home directory.' },
};

/** Scan what the command line asks for: PATHs (default: the working directory), env, home. */
export function scanFor(paths: string[], options: OptionValues): ScanReport {
  return scan({ paths, environment: options['no-environment'] !== true, home: options['no-home'] !== true });
}

function status(finding: Finding): string {
  const parts = [
    finding.inVault !== undefined ? `in the vault as ${finding.inVault}` : '',
    finding.gitIgnored ? 'git-ignored' : '',
    finding.removal === 'manual' ? 'move by hand' : '',
  ].filter(Boolean);
  return parts.join('; ') || '-';
}

/** The findings as a table: where, variable, provider, masked key, status. Never a value. */
export function findingsTable(output: Output, findings: readonly Finding[]): string {
  return table(output, ['WHERE', 'VARIABLE', 'PROVIDER', 'KEY', 'STATUS'],
    findings.map((finding) => [finding.where, finding.variable ?? '-', finding.provider, finding.masked, status(finding)]));
}

/** Files that were not searched or not understood: named on stderr, each with why. */
export function noteProblems(output: Output, report: ScanReport): void {
  for (const problem of report.problems) output.note(`${output.err('yellow', 'skipped:')} ${problem.path}: ${problem.reason}`);
}
