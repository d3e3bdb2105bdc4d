/**
 * A rotation's grace, as the owner applies it (FORMAT.md, "An agent record"): the generation a
 * rotation replaced keeps the agent's scope until its grace ends (never past its own expiry), and
 * only one such generation is ever kept. Once the grace is over, the owner's next write forgets
 * it: the agent record loses it and every secret its wrapped keys. Agents and the server enforce
 * the end themselves (src/_secret-access.ts, src/server/_policy.ts); this file decides grants.
 */
import { AGENT_ACTIVE } from './_records.ts';
import type { Grantee, LoadedAgent } from './_owner-records.ts';

/** Whether the previous generation of `agent` may still read at `now`. */
export function inGrace(agent: LoadedAgent, now: number): boolean {
  const previous = agent.previous;
  return agent.status === AGENT_ACTIVE && previous !== undefined && now < previous.graceEndsAt && now < previous.policy.expiresAt;
}

/** Whether `agent` still carries a previous generation whose grace is over (so the owner must remove it). */
export function graceEnded(agent: LoadedAgent, now: number): boolean {
  return agent.previous !== undefined && !inGrace(agent, now);
}

/**
 * Who should hold a grant of `name` now: nobody, the agent's generation, or also the previous
 * one during a grace (with the agent's patterns of now, never wider than the new token's).
 */
export function granteesOf(agent: LoadedAgent, name: string, now: number): Grantee[] {
  if (agent.status !== AGENT_ACTIVE || agent.policy.expiresAt <= now || !agent.allows(name)) return [];
  if (!inGrace(agent, now)) return [agent];
  const { generation, key } = agent.previous!;
  return [agent, { id: agent.id, loc: agent.loc, generation, key }];
}

/**
 * The previous generation a rotation of `replaced` keeps for `graceMs`: cut to its expiry, and
 * none for a token already expired (nothing is left of its life to extend into). Whatever
 * `replaced` kept itself is dropped: the oldest token dies at once.
 */
export function graceFor(replaced: LoadedAgent, graceMs: number, now: number): LoadedAgent['previous'] {
  const graceEndsAt = Math.min(now + graceMs, replaced.policy.expiresAt);
  if (graceEndsAt <= now) return undefined;
  return { generation: replaced.generation, graceEndsAt, key: replaced.key, policy: replaced.policy };
}

/** Forget every grace that has ended; `rewrite` is called for each agent whose record must change. */
export function dropEndedGraces(agents: LoadedAgent[], now: number, rewrite: (agent: LoadedAgent) => void): boolean {
  let dropped = false;
  for (const agent of agents) {
    if (!graceEnded(agent, now)) continue;
    agent.previous = undefined;
    rewrite(agent);
    dropped = true;
  }
  return dropped;
}
