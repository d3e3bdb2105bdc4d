import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { initCrypto } from '../../crypto.ts';
import { UsageError } from '../../errors.ts';
import {
  applyImport, type ExecLauncher, forgetImports, importsDir, type ImportPlan, type ImportResult, markInVault, MCP_AGENT_TTL, planImport,
  tokensDir, undoImport, undoNeedsVault, withdrawMcpAgent,
} from '../../scan/index.ts';
import type { Command, Context } from '../_command.ts';
import { findingsTable, noteProblems, scanFor, WHERE_OPTIONS } from '../_moving-in.ts';
import type { Output } from '../_output.ts';
import { confirm } from '../_prompt.ts';
import { locateVault, withOwnerVault } from '../_unlock.ts';

export const importCommand: Command = {
  name: 'import',
  summary: 'Move the keys scan finds into the vault, and rewrite their sources (--undo restores)',
  usage: 'import [PATH...] [--yes] [--no-environment] [--no-home] | import --undo | import --forget',
  description:
    'Scan as `agent-vault scan` does, then move each key into the vault under a name made from its\n' +
    'variable (OPENAI_API_KEY -> openai-api-key; GOOGLE_/GEMINI_API_KEY -> gemini-api-key) and take it\n' +
    'out of its source: a .env or shell file line is replaced by a comment saying where the key went;\n' +
    'an MCP server entry is rewritten to start under `agent-vault exec -- <its command>`, without the\n' +
    'key in its env, so the server holds only a phantom key. Each rewritten server gets an agent of its\n' +
    `own (mcp-<client>-<server>, allowed exactly that server's keys, ${MCP_AGENT_TTL}) whose token file, in the\n` +
    "owner's config directory, the entry names: never the owner's key file or passphrase. Keys the tool\n" +
    'cannot move cleanly (inside arguments or headers, in a JSONC file, with no broker route) are left\n' +
    'and named. Asks before changing anything, unless --yes. Every file is backed up first (in the\n' +
    "owner's config directory, with a manifest; the backups hold the old values) and rewritten\n" +
    'atomically, its mode kept. --undo restores the files of the last import byte for byte (the keys\n' +
    'stay in the vault) and revokes its MCP agents; --forget deletes the backups once you have checked.',
  args: [],
  rest: 'PATH',
  options: {
    yes: { type: 'boolean', short: 'y', description: 'Do not ask for confirmation.' },
    undo: { type: 'boolean', description: 'Restore the files the last import rewrote, from its backups.' },
    forget: { type: 'boolean', description: 'Delete the backups of every import (they hold the old values); undo is then impossible.' },
    ...WHERE_OPTIONS,
  },
  examples: ['agent-vault import', 'agent-vault import ~/code/app --no-environment --yes', 'agent-vault import --undo', 'agent-vault import --forget'],
  async run(context) {
    await initCrypto(); // digests (backups), token checksums (scan)
    if (context.options.undo === true && context.options.forget === true) {
      throw new UsageError('--undo restores from the backups that --forget deletes: give one of them.');
    }
    if (context.options.undo === true) return undo(context);
    if (context.options.forget === true) return forget(context.output);
    const { args, options, output, dir, keyFile } = context;
    const report = scanFor(args, options);
    noteProblems(output, report);
    if (report.findings.length === 0) {
      output.result({ stored: [], rewritten: [], left: [], failed: [] });
      output.note(`No plaintext keys found (${report.filesRead} files read); nothing to import.`);
      return;
    }
    const launcher = execLauncher(context, locateVault({ dir }).dir);
    await withOwnerVault({ dir, keyFile }, async (vault) => {
      await markInVault(report.findings, vault);
      const plan = await planImport(report.findings, vault);
      if (!output.json) describePlan(output, plan);
      if (plan.files.length === 0 && plan.store.length === 0) {
        output.result({ stored: [], rewritten: [], left: leftJson(plan), failed: [], agents: [] });
        output.note('Nothing can be moved automatically.');
        return;
      }
      if (options.yes !== true && !(await confirm('Import these keys and rewrite these files?', 'Run again with --yes.'))) {
        output.note('Nothing was changed.');
        return;
      }
      const result = await applyImport(plan, vault, { launcher, importsDir: importsDir(), tokensDir: tokensDir() });
      output.result({ ...result, left: leftJson(plan) });
      if (!output.json) describeResult(output, plan, result);
    });
  },
};

/**
 * How rewritten MCP entries start exec: this node and this CLI by absolute path (an MCP client
 * starts servers with its own PATH, where `agent-vault` may not be) and the vault by absolute
 * path. No owner credential: applyImport adds each server's own agent token file.
 */
function execLauncher(context: Context, vaultDir: string): ExecLauncher {
  const cli = realpathSync(process.argv[1] as string);
  if (/[\\/]_npx[\\/]/.test(cli)) {
    context.output.note(
      `warning: this agent-vault runs from npx's cache (${cli}); rewritten MCP entries start it by that path, ` +
        'which npx may clean. Install agent-vault (npm i -g agent-vault, or in the project) and import from there.',
    );
  }
  return { command: process.execPath, args: [cli, 'exec', '--dir', resolve(vaultDir)] };
}

function describeResult(output: Output, plan: ImportPlan, result: ImportResult): void {
  output.note(`Stored ${result.stored.length} secret(s)${result.stored.length ? `: ${result.stored.join(', ')}` : ''}; rewrote ${result.rewritten.length} file(s).`);
  for (const failed of result.failed) output.note(`${output.err('red', 'not rewritten:')} ${failed.path}: ${failed.reason}`);
  if (result.agents.length) {
    output.note(`Each rewritten MCP server runs exec with an agent of its own (token valid ${MCP_AGENT_TTL}; renew: rm FILE && agent-vault agent rotate ID --token-file FILE):`);
    for (const agent of result.agents) output.note(`  ${agent.id}: ${agent.allow.join(', ')} (${agent.where}; token ${agent.tokenFile})`);
    output.note(
      'What that server can still do, running as you: read its own token file, and so the keys it was granted ' +
        '(offline, from the vault directory, unaudited, until you revoke it: agent-vault agent revoke ID). ' +
        'It never holds the owner key. To take even that away, run the broker or `serve` as another user.',
    );
  }
  if (result.backupDir) {
    output.note(`Backups (they hold the old values, readable by any process running as you): ${result.backupDir}\nUndo: agent-vault import --undo; once you have checked, delete the backups: agent-vault import --forget`);
  }
  if (plan.environment.length) {
    output.note(`Also unset ${plan.environment.map((move) => move.finding.variable).join(', ')} where your environment sets them.`);
  }
}

function describePlan(output: Output, plan: ImportPlan): void {
  const moving = [...plan.files.flatMap((file) => file.moves), ...plan.environment];
  if (moving.length) {
    output.note('To move into the vault:');
    output.note(findingsTable(output, moving.map((move) => move.finding)));
    output.note(`New secrets: ${plan.store.map((move) => move.name).join(', ') || '(none: already in the vault)'}`);
    output.note(`Files to rewrite: ${plan.files.map((file) => file.path).join(', ') || '(none)'}`);
  }
  for (const { finding, reason } of plan.left) output.note(`${output.err('yellow', 'left:')} ${finding.where} (${finding.masked}): ${reason}`);
}

function leftJson(plan: ImportPlan): { where: string; masked: string; reason: string }[] {
  return plan.left.map(({ finding, reason }) => ({ where: finding.where, masked: finding.masked, reason }));
}

async function undo(context: Context): Promise<void> {
  const { output, dir, keyFile } = context;
  // The agents the import made are revoked by the owner; an import without any needs no unlock.
  const result = undoNeedsVault(importsDir())
    ? await withOwnerVault({ dir, keyFile }, (vault) => undoImport(importsDir(), (agent) => withdrawMcpAgent(vault, agent)))
    : await undoImport(importsDir());
  output.result(result);
  if (output.json) return;
  output.note(`Undid import ${result.id}: restored ${result.restored.length} file(s).`);
  for (const file of result.restored) output.note(`  restored ${file}`);
  // Not an error: a file edited since the import is the user's newer work, kept on purpose.
  for (const skipped of result.skipped) output.note(`${output.err('yellow', 'not restored:')} ${skipped.path}: ${skipped.reason}`);
  if (result.revoked.length) output.note(`Revoked the import's MCP agents and deleted their token files: ${result.revoked.join(', ')}.`);
  if (result.kept.length) output.note(`Kept (their files were not restored, so their entries still use them): ${result.kept.join(', ')}.`);
}

function forget(output: Output): void {
  const ids = forgetImports(importsDir());
  output.result({ forgotten: ids });
  output.note(ids.length ? `Deleted the backups of ${ids.length} import(s); they can no longer be undone.` : 'No import backups to delete.');
}
