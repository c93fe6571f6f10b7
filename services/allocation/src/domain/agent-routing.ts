import type { ChannelRef, WorkQueue } from '@leadflow/contracts/common';
import { isOnShift, localTime, type WeeklyWindow } from './calendar.js';
import type { ChannelMatch, RoutingPolicy } from './routing-policy.js';

/** What in-dealer routing needs to know about one staff member who works leads. */
export interface AgentCandidate {
  id: string;
  teamId: string;
  /** The queue of the agent's team (outbound callers belong to the DCC). */
  queue: WorkQueue;
  /** Series or models the agent specialises in; empty means a generalist. */
  modelSkills: readonly string[];
  shifts: readonly WeeklyWindow[];
  onLeave: boolean;
  openLeadLimit: number;
  openLeads: number;
  /** When the agent last received a lead (ISO); drives the round-robin tie-break. */
  lastAssignedAt?: string;
  active: boolean;
}

/** A team without (available) agents still receives the lead: the dealer's manager assigns it. */
export interface TeamRef {
  id: string;
  queue: WorkQueue;
}

export interface AgentRoutingInput {
  grade: string;
  channel: ChannelRef;
  series?: string;
  model?: string;
  /** The agent who worked this customer last (a returning customer). */
  previousAgentId?: string;
  excludeAgentIds: readonly string[];
  /** Set by a reassignment to the DCC or by a regrade to the showroom. */
  forceQueue?: WorkQueue;
  now: Date;
  timeZone: string;
  holidays: readonly string[];
}

export type AgentStrategy = 'continuity' | 'least_loaded' | 'round_robin' | 'team_only';

export interface AgentRoutingResult {
  queue: WorkQueue;
  /** Undefined when the dealer has no team for the queue at all. */
  teamId?: string;
  /** Undefined when nobody can take it now: the lead waits in the team queue for the manager. */
  agentId?: string;
  strategy: AgentStrategy;
  reasons: string[];
}

function matchesChannel(match: ChannelMatch, channel: ChannelRef): boolean {
  return (
    match.l1 === channel.l1 &&
    (match.l2 === undefined || match.l2 === channel.l2) &&
    (match.l3 === undefined || match.l3 === channel.l3)
  );
}

/** The Chevrolet rule: campaign channels → DCC; showroom grades (H/A) → showroom; the rest → DCC. */
export function chooseQueue(
  input: Pick<AgentRoutingInput, 'grade' | 'channel' | 'forceQueue'>,
  policy: RoutingPolicy,
): { queue: WorkQueue; reason: string } {
  if (input.forceQueue !== undefined)
    return { queue: input.forceQueue, reason: `queue: ${input.forceQueue} requested` };
  if (policy.dccChannels.some((m) => matchesChannel(m, input.channel))) {
    return {
      queue: 'dcc',
      reason: `queue: dcc, OEM campaign channel ${input.channel.l1}/${input.channel.l2}`,
    };
  }
  const grade = input.grade.toUpperCase();
  if (policy.showroomGrades.some((g) => g.toUpperCase() === grade)) {
    return {
      queue: 'showroom',
      reason: `queue: showroom, grade ${input.grade} goes to showroom consultants`,
    };
  }
  return { queue: 'dcc', reason: `queue: dcc, grade ${input.grade} goes to the DCC` };
}

const other = (queue: WorkQueue): WorkQueue => (queue === 'showroom' ? 'dcc' : 'showroom');
const ids = (list: readonly AgentCandidate[]) => list.map((a) => a.id).join(', ');
const underLimit = (a: AgentCandidate) => a.openLeads < a.openLeadLimit;

function skilled(agent: AgentCandidate, wanted: readonly string[]): boolean {
  if (agent.modelSkills.length === 0) return true;
  const skills = agent.modelSkills.map((s) => s.trim().toLowerCase());
  return wanted.some((w) => skills.includes(w));
}

/** Least loaded first; among equals the one who waited longest since their last lead, then id. */
function leastLoaded(pool: readonly AgentCandidate[]): { agent: AgentCandidate; tie: boolean } | undefined {
  const sorted = [...pool].sort(
    (a, b) =>
      a.openLeads - b.openLeads ||
      (a.lastAssignedAt ?? '').localeCompare(b.lastAssignedAt ?? '') ||
      a.id.localeCompare(b.id),
  );
  const first = sorted[0];
  if (first === undefined) return undefined;
  return { agent: first, tie: sorted.filter((a) => a.openLeads === first.openLeads).length > 1 };
}

/**
 * Chooses the queue, team and agent inside a dealer: the Chevrolet queue rule, then continuity, skills
 * (model line), availability (active, leave, shift, open-lead limit) and least-loaded with a
 * round-robin tie-break. Every step adds a reason. Pure: `now` and the loads come from the caller.
 */
export function routeToAgent(
  input: AgentRoutingInput,
  agents: readonly AgentCandidate[],
  teams: readonly TeamRef[],
  policy: RoutingPolicy,
): AgentRoutingResult {
  const reasons: string[] = [];
  const chosen = chooseQueue(input, policy);
  let queue = chosen.queue;
  reasons.push(chosen.reason);

  const usable = agents.filter((a) => a.active && !input.excludeAgentIds.includes(a.id));
  if (input.excludeAgentIds.length > 0) reasons.push(`excluded agents: ${input.excludeAgentIds.join(', ')}`);
  let pool = usable.filter((a) => a.queue === queue);
  if (pool.length === 0 && policy.fallbackToOtherQueue && input.forceQueue === undefined) {
    const fallback = usable.filter((a) => a.queue === other(queue));
    if (fallback.length > 0) {
      reasons.push(`no active ${queue} agent; falling back to ${other(queue)}`);
      queue = other(queue);
      pool = fallback;
    }
  }
  const team = teams.find((t) => t.queue === queue);
  const teamOnly = (why: string): AgentRoutingResult => ({
    queue,
    ...(team === undefined ? {} : { teamId: team.id }),
    strategy: 'team_only',
    reasons: [...reasons, why],
  });
  if (pool.length === 0) return teamOnly(`no active ${queue} agent; the dealer’s manager assigns the lead`);

  const previous =
    input.previousAgentId === undefined ? undefined : pool.find((a) => a.id === input.previousAgentId);
  if (previous !== undefined && !previous.onLeave && underLimit(previous)) {
    reasons.push(`continuity: returning customer goes back to ${previous.id}`);
    return { queue, teamId: previous.teamId, agentId: previous.id, strategy: 'continuity', reasons };
  }
  if (input.previousAgentId !== undefined) {
    reasons.push(`continuity: previous agent ${input.previousAgentId} not available in the ${queue} queue`);
  }

  const wanted = [input.series, input.model]
    .filter((v): v is string => v !== undefined && v.trim() !== '')
    .map((v) => v.trim().toLowerCase());
  if (wanted.length > 0) {
    const withSkill = pool.filter((a) => skilled(a, wanted));
    if (withSkill.length > 0) {
      if (withSkill.length < pool.length)
        reasons.push(`skills: ${ids(withSkill)} cover ${input.series ?? input.model ?? ''}`);
      pool = withSkill;
    } else {
      reasons.push(`skills: nobody covers ${input.series ?? input.model ?? ''}; skill not applied`);
    }
  }

  const at = localTime(input.now, input.timeZone);
  const present = pool.filter((a) => !a.onLeave && underLimit(a));
  const onShift = present.filter((a) => isOnShift(a.shifts, input.holidays, at));
  let available = onShift;
  if (onShift.length === 0 && present.length > 0) {
    // Nobody is on shift (night, holiday): the lead waits for the next shift of someone who has room.
    reasons.push(`availability: nobody on shift; choosing among ${ids(present)} for their next shift`);
    available = present;
  } else if (onShift.length < pool.length) {
    const away = pool.filter((a) => !onShift.includes(a));
    reasons.push(`availability: skipped ${ids(away)} (on leave, off shift or at their open-lead limit)`);
  }
  const pick = leastLoaded(available);
  if (pick === undefined)
    return teamOnly(
      'availability: every agent is on leave or at the open-lead limit; the dealer’s manager assigns the lead',
    );

  const { agent, tie } = pick;
  reasons.push(
    tie
      ? `round-robin: ${agent.id} waited longest among agents with ${agent.openLeads} open leads`
      : `least loaded: ${agent.id} with ${agent.openLeads} open leads`,
  );
  return {
    queue,
    teamId: agent.teamId,
    agentId: agent.id,
    strategy: tie ? 'round_robin' : 'least_loaded',
    reasons,
  };
}
