/**
 * `npm run exposure`: how many copies of the provider key (and of the agent's own credentials)
 * an agent process holds, per mode, protocol and moment. Prints one table and writes JSON.
 *
 *   node exposure/run.ts [--json exposure/report.json] [--gcore] [--modes env,standard,hardened,broker] [--protocols http,https]
 *                        [--lengths 16,32,39,51,108,164]
 *
 * Memory is read through /proc/<pid>/mem (every resident page of every anonymous or writable
 * mapping: what a core dump holds, without its untouched zero pages). --gcore takes real gdb core
 * dumps instead: the same copies, but ~27 GB of temporary disk and about a minute per dump.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hasGcore } from './_dump.ts';
import { KEY_LENGTHS, type Mode, measureExposure, type Protocol } from './_harness.ts';
import { formatReport } from './_table.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'string', default: 'exposure/report.json' },
    gcore: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'env,standard,hardened,broker' },
    protocols: { type: 'string', default: 'http,https' },
    lengths: { type: 'string', default: KEY_LENGTHS.join(',') },
  },
});

if (process.platform !== 'linux') {
  console.error('The exposure harness reads process memory through /proc: it runs on Linux only.');
  process.exit(2);
}
if (values.gcore && !hasGcore()) {
  console.error('--gcore needs gdb (gcore) on the PATH: apt-get install gdb.');
  process.exit(2);
}
const started = performance.now();
const report = await measureExposure({
  modes: values.modes.split(',') as Mode[],
  protocols: values.protocols.split(',') as Protocol[],
  keyLengths: values.lengths.split(',').map(Number),
  dump: values.gcore ? 'gcore' : 'proc',
  concurrency: values.gcore ? 2 : 3,
  log: (line) => console.error(line),
});
console.log(formatReport(report));
writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
console.error(`\n${((performance.now() - started) / 1000).toFixed(0)} s; JSON written to ${values.json}`);
