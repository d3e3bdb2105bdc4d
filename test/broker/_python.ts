/**
 * The Python interpreter with the official `openai` package, made by .ci/run (a virtualenv
 * outside the repository) and named by AGENT_VAULT_TEST_PYTHON. In CI its absence is a failure;
 * elsewhere the Python tests skip and say how to get it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENTS } from './_exec.ts';

export const PYTHON = process.env.AGENT_VAULT_TEST_PYTHON;

export const PYTHON_MISSING = PYTHON && existsSync(PYTHON) ? undefined
  : 'AGENT_VAULT_TEST_PYTHON does not name a Python with the openai package: run .ci/run, or make a virtualenv ' +
    '(python3 -m venv ~/.cache/agent-vault-ci/venv && ~/.cache/agent-vault-ci/venv/bin/pip install openai) and export ' +
    'AGENT_VAULT_TEST_PYTHON=~/.cache/agent-vault-ci/venv/bin/python';

function sitePackages(python: string): string {
  return execFileSync(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).trim();
}

/**
 * A virtualenv of its own (so the shared one is never touched) whose site-packages sees the
 * shared one's packages and holds the harvester's `.pth` file, exactly as a compromised
 * dependency would install it. Returns its interpreter.
 */
export function compromisedVenv(dir: string): string {
  execFileSync(PYTHON!, ['-m', 'venv', '--without-pip', dir]);
  const python = join(dir, 'bin', 'python');
  const site = sitePackages(python);
  writeFileSync(join(site, 'shared-packages.pth'), `${sitePackages(PYTHON!)}\n`);
  copyFileSync(join(CLIENTS, '_harvest.py'), join(site, '_harvest.py'));
  // A .pth line that starts with `import` runs at every interpreter start-up, before any application code.
  writeFileSync(join(site, 'zz-llm-router-telemetry.pth'), 'import _harvest\n');
  return python;
}
