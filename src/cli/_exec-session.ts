/**
 * One `exec` session, in the two images _exec-handoff.ts describes: `prepareSession` (first
 * image) turns the caller's credential into what the session needs — the agent token, or, as
 * the owner, a temporary agent's — and `runSession` (second image, or this one where the
 * runtime cannot re-execute) runs the broker and the child on it, then revokes the temporary
 * agent.
 */
import { randomBytes } from 'node:crypto';
import { PhantomKeys, startBroker, type Route } from '../broker/index.ts';
import { parseDuration } from '../duration.ts';
import { agentToken } from '../_open.ts';
import { openVault } from '../vault.ts';
import type { Context } from './_command.ts';
import { accessMode, brokerNotes, childEnvironment, servedByOwner } from './_broker-setup.ts';
import { runChild } from './_child.ts';
import type { Handoff } from './_exec-handoff.ts';
import type { Output } from './_output.ts';
import { locateVault, ownerUnlockAt } from './_unlock.ts';

export async function prepareSession(
  context: Pick<Context, 'dir' | 'keyFile'>, routes: Route[], scope: { allow?: string[]; ttl: string },
): Promise<Handoff> {
  const { dir } = locateVault(context);
  parseDuration(scope.ttl, '--ttl');
  if (accessMode(scope.allow) === 'token') {
    return { dir, token: (await agentToken(undefined)).token, ttl: scope.ttl, routes, served: routes.map((route) => route.name) };
  }
  const unlock = await ownerUnlockAt(context, dir);
  // The passphrase travels to the second image, which needs it to revoke the temporary agent at the end.
  const passphrase = unlock.passphrase === undefined ? undefined : Buffer.from(unlock.passphrase);
  if (unlock.passphrase instanceof Uint8Array) unlock.passphrase.fill(0);
  try {
    const owner = await openVault({ dir, ...(passphrase ? { passphrase: passphrase } : { keyFile: unlock.keyFile! }) });
    try {
      const served = await servedByOwner(owner, routes, scope.allow!);
      const agentId = `exec-${randomBytes(4).toString('hex')}`;
      const { token } = await owner.createAgent(agentId, { allow: scope.allow!, ttl: scope.ttl });
      return {
        dir, token, ttl: scope.ttl, routes, served: served.map((route) => route.name),
        temporary: { agentId, ...(passphrase ? { passphrase: passphrase.toString('base64') } : { keyFile: unlock.keyFile! }) },
      };
    } finally {
      await owner.close();
    }
  } finally {
    passphrase?.fill(0);
  }
}

/** The broker and the child on `session`; the child's exit code. The temporary agent is revoked however it ends. */
export async function runSession(session: Handoff, command: string[], output: Output): Promise<number> {
  try {
    const vault = await openVault({ dir: session.dir, token: session.token });
    try {
      const served = session.routes.filter((route) => session.served.includes(route.name));
      const keys = new PhantomKeys();
      const broker = await startBroker({ vault, routes: served, keys, onError: brokerNotes(output, 'exec') });
      try {
        const ttlMs = parseDuration(session.ttl, '--ttl');
        const phantoms = served.map((route) => ({
          route, baseUrl: broker.baseUrl(route), key: keys.mint(`exec-${process.pid}-${route.name}`, route.name, ttlMs).key,
        }));
        return await runChild(command, childEnvironment(process.env, session.routes, phantoms));
      } finally {
        await broker.close();
      }
    } finally {
      await vault.close();
    }
  } finally {
    if (session.temporary) await revokeTemporary(session.dir, session.temporary);
  }
}

/** Owner mode, after the child: the temporary agent is revoked (a fresh unlock; its ttl bounds it if this fails). */
export async function revokeTemporary(dir: string, temporary: NonNullable<Handoff['temporary']>): Promise<void> {
  const passphrase = temporary.passphrase === undefined ? undefined : Buffer.from(temporary.passphrase, 'base64');
  try {
    const owner = await openVault({ dir, ...(passphrase ? { passphrase } : { keyFile: temporary.keyFile! }) });
    try {
      await owner.revokeAgent(temporary.agentId);
    } finally {
      await owner.close();
    }
  } finally {
    passphrase?.fill(0);
  }
}
