/** One agent's claim on a customer: a current lead of that customer they hold. */
export interface CollisionClaim {
  leadId: string;
  agentId?: string;
  /** When the lead's file was created (建档时间), ISO. */
  createdAt: string;
  /** The first recorded follow-up, ISO: the follow-up history the ruling also weighs. */
  firstFollowedUpAt?: string;
}

export type CollisionRuling =
  | { collision: true; owner: CollisionClaim; losers: CollisionClaim[]; reasons: string[] }
  | { collision: false; reasons: string[] };

const time = (iso: string | undefined) => (iso === undefined ? Number.POSITIVE_INFINITY : Date.parse(iso));

/**
 * 撞单 (showroom vs telesales collision, requirements §4.6): when two or more agents hold leads of the
 * same customer, the customer belongs to the agent whose file was created first; on equal creation
 * times, the one who followed up first; then the lower lead id, so the ruling is deterministic. The
 * supervisor's ruling is final: every other holder's leads move to the owner. Pure.
 */
export function resolveCollision(claims: readonly CollisionClaim[]): CollisionRuling {
  const held = claims.filter((c) => c.agentId !== undefined);
  const agents = new Set(held.map((c) => c.agentId));
  if (agents.size < 2) {
    return { collision: false, reasons: [`no collision: ${agents.size} agent(s) hold this customer`] };
  }
  const ranked = [...held].sort(
    (a, b) =>
      time(a.createdAt) - time(b.createdAt) ||
      time(a.firstFollowedUpAt) - time(b.firstFollowedUpAt) ||
      a.leadId.localeCompare(b.leadId),
  );
  const owner = ranked[0] as CollisionClaim;
  const runnerUp = ranked.find((c) => c.agentId !== owner.agentId) as CollisionClaim;
  const reasons = [`collision: ${agents.size} agents hold this customer (${[...agents].join(', ')})`];
  if (time(owner.createdAt) < time(runnerUp.createdAt)) {
    reasons.push(
      `file creation time: ${owner.agentId ?? ''}'s file ${owner.leadId} was created first (${owner.createdAt})`,
    );
  } else if (time(owner.firstFollowedUpAt) < time(runnerUp.firstFollowedUpAt)) {
    reasons.push(
      `files created at the same time; follow-up history: ${owner.agentId ?? ''} followed up first (${owner.firstFollowedUpAt ?? ''})`,
    );
  } else {
    reasons.push(`files and follow-ups tie; lowest lead id ${owner.leadId} decides`);
  }
  const losers = held.filter((c) => c.agentId !== owner.agentId);
  reasons.push(`owner: ${owner.agentId ?? ''}; ${losers.length} lead(s) move to them`);
  return { collision: true, owner, losers, reasons };
}
