import { describe, expect, it } from 'vitest';
import {
  chooseQueue,
  routeToAgent,
  type AgentCandidate,
  type AgentRoutingInput,
  type TeamRef,
} from './agent-routing.js';
import { isOnShift, localTime, parseClock } from './calendar.js';
import { DEFAULT_ROUTING_POLICY, type RoutingPolicy } from './routing-policy.js';

// Monday 2025-03-03 10:00 in Shanghai.
const MONDAY_10AM = new Date('2025-03-03T02:00:00.000Z');
const WEEKDAYS = { days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' };

const teams: TeamRef[] = [
  { id: 'team-showroom', queue: 'showroom' },
  { id: 'team-dcc', queue: 'dcc' },
];

function agent(
  id: string,
  queue: 'showroom' | 'dcc',
  overrides: Partial<AgentCandidate> = {},
): AgentCandidate {
  return {
    id,
    teamId: queue === 'showroom' ? 'team-showroom' : 'team-dcc',
    queue,
    modelSkills: [],
    shifts: [WEEKDAYS],
    onLeave: false,
    openLeadLimit: 20,
    openLeads: 0,
    active: true,
    ...overrides,
  };
}

const input = (overrides: Partial<AgentRoutingInput> = {}): AgentRoutingInput => ({
  grade: 'H',
  channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome' },
  excludeAgentIds: [],
  now: MONDAY_10AM,
  timeZone: 'Asia/Shanghai',
  holidays: [],
  ...overrides,
});

const policy = (overrides: Partial<RoutingPolicy> = {}): RoutingPolicy => ({
  ...DEFAULT_ROUTING_POLICY,
  ...overrides,
});

describe('chooseQueue (Chevrolet rule)', () => {
  it.each([
    ['H', 'showroom'],
    ['A', 'showroom'],
    ['a', 'showroom'],
    ['B', 'dcc'],
    ['C', 'dcc'],
    ['F', 'dcc'],
    ['N', 'dcc'],
  ] as const)('grade %s goes to %s', (grade, queue) => {
    expect(chooseQueue({ grade, channel: input().channel }, policy()).queue).toBe(queue);
  });

  it('sends OEM campaign leads to the DCC whatever the grade', () => {
    const result = chooseQueue(
      { grade: 'H', channel: { l1: 'oem', l2: 'call_centre', l3: 'cem-800' } },
      policy(),
    );
    expect(result.queue).toBe('dcc');
    expect(result.reason).toMatch(/campaign/);
  });

  it('matches campaign channels down to L3 when the policy says so', () => {
    const p = policy({ dccChannels: [{ l1: 'oem', l2: 'vertical_media', l3: 'cem-spring' }] });
    expect(
      chooseQueue({ grade: 'H', channel: { l1: 'oem', l2: 'vertical_media', l3: 'cem-spring' } }, p).queue,
    ).toBe('dcc');
    expect(
      chooseQueue({ grade: 'H', channel: { l1: 'oem', l2: 'vertical_media', l3: 'other' } }, p).queue,
    ).toBe('showroom');
  });

  it('obeys a forced queue', () => {
    expect(chooseQueue({ grade: 'H', channel: input().channel, forceQueue: 'dcc' }, policy()).queue).toBe(
      'dcc',
    );
  });
});

describe('routeToAgent', () => {
  it('gives H leads to the least-loaded showroom consultant', () => {
    const result = routeToAgent(
      input(),
      [
        agent('s1', 'showroom', { openLeads: 5 }),
        agent('s2', 'showroom', { openLeads: 2 }),
        agent('d1', 'dcc'),
      ],
      teams,
      policy(),
    );
    expect(result).toMatchObject({
      queue: 'showroom',
      teamId: 'team-showroom',
      agentId: 's2',
      strategy: 'least_loaded',
    });
    expect(result.reasons.at(-1)).toBe('least loaded: s2 with 2 open leads');
  });

  it('gives B leads to the DCC', () => {
    const result = routeToAgent(
      input({ grade: 'B' }),
      [agent('s1', 'showroom'), agent('d1', 'dcc')],
      teams,
      policy(),
    );
    expect(result).toMatchObject({ queue: 'dcc', agentId: 'd1' });
  });

  it('breaks load ties round-robin: whoever waited longest, never-assigned first, then id', () => {
    const agents = [
      agent('s1', 'showroom', { lastAssignedAt: '2025-03-03T01:00:00.000Z' }),
      agent('s2', 'showroom', { lastAssignedAt: '2025-03-03T00:30:00.000Z' }),
      agent('s3', 'showroom', { lastAssignedAt: '2025-03-03T01:30:00.000Z' }),
    ];
    expect(routeToAgent(input(), agents, teams, policy())).toMatchObject({
      agentId: 's2',
      strategy: 'round_robin',
    });
    const fresh = [...agents, agent('s0', 'showroom'), agent('s4', 'showroom')];
    expect(routeToAgent(input(), fresh, teams, policy()).agentId).toBe('s0');
  });

  it('sends a returning customer back to their agent', () => {
    const result = routeToAgent(
      input({ previousAgentId: 's1' }),
      [agent('s1', 'showroom', { openLeads: 9 }), agent('s2', 'showroom')],
      teams,
      policy(),
    );
    expect(result).toMatchObject({ agentId: 's1', strategy: 'continuity' });
  });

  it('skips continuity when the previous agent is on leave, inactive, or in another queue', () => {
    for (const previous of [
      agent('s1', 'showroom', { onLeave: true }),
      agent('s1', 'showroom', { active: false }),
      agent('s1', 'dcc'),
    ]) {
      const result = routeToAgent(
        input({ previousAgentId: 's1' }),
        [previous, agent('s2', 'showroom')],
        teams,
        policy(),
      );
      expect(result.agentId).toBe('s2');
      expect(result.reasons).toContain('continuity: previous agent s1 not available in the showroom queue');
    }
  });

  it('prefers agents skilled in the model line; generalists count as skilled', () => {
    const agents = [
      agent('outback', 'showroom', { modelSkills: ['Outback'] }),
      agent('forester', 'showroom', { modelSkills: ['Forester'], openLeads: 4 }),
      agent('generalist', 'showroom', { openLeads: 6 }),
    ];
    const result = routeToAgent(input({ series: 'forester' }), agents, teams, policy());
    expect(result.agentId).toBe('forester');
    expect(result.reasons).toContain('skills: forester, generalist cover forester');
  });

  it('ignores skills when nobody has them', () => {
    const agents = [
      agent('a', 'showroom', { modelSkills: ['Outback'] }),
      agent('b', 'showroom', { modelSkills: ['XV'], openLeads: 1 }),
    ];
    const result = routeToAgent(input({ series: 'Forester' }), agents, teams, policy());
    expect(result.agentId).toBe('a');
    expect(result.reasons).toContain('skills: nobody covers Forester; skill not applied');
  });

  it('skips agents on leave, off shift or at their open-lead limit', () => {
    const agents = [
      agent('leave', 'showroom', { onLeave: true }),
      agent('night', 'showroom', { shifts: [{ days: [1], start: '20:00', end: '23:00' }] }),
      agent('full', 'showroom', { openLeads: 3, openLeadLimit: 3 }),
      agent('ok', 'showroom', { openLeads: 7 }),
    ];
    const result = routeToAgent(input(), agents, teams, policy());
    expect(result.agentId).toBe('ok');
    expect(result.reasons).toContain(
      'availability: skipped leave, night, full (on leave, off shift or at their open-lead limit)',
    );
  });

  it('falls back to someone off shift when nobody is working', () => {
    const sunday = new Date('2025-03-02T02:00:00.000Z');
    const result = routeToAgent(
      input({ now: sunday }),
      [agent('s1', 'showroom', { openLeads: 2 }), agent('s2', 'showroom', { openLeads: 1 })],
      teams,
      policy(),
    );
    expect(result.agentId).toBe('s2');
    expect(result.reasons.some((r) => r.startsWith('availability: nobody on shift'))).toBe(true);
  });

  it('leaves the lead with the team when every agent is at the limit or on leave', () => {
    const result = routeToAgent(
      input(),
      [
        agent('s1', 'showroom', { onLeave: true }),
        agent('s2', 'showroom', { openLeads: 1, openLeadLimit: 1 }),
      ],
      teams,
      policy(),
    );
    expect(result).toMatchObject({ queue: 'showroom', teamId: 'team-showroom', strategy: 'team_only' });
    expect(result.agentId).toBeUndefined();
  });

  it('falls back to the other queue when the preferred one has nobody', () => {
    const result = routeToAgent(input({ grade: 'H' }), [agent('d1', 'dcc')], teams, policy());
    expect(result).toMatchObject({ queue: 'dcc', agentId: 'd1' });
    expect(result.reasons).toContain('no active showroom agent; falling back to dcc');
  });

  it('does not fall back when the policy forbids it or the queue was forced', () => {
    expect(
      routeToAgent(input(), [agent('d1', 'dcc')], teams, policy({ fallbackToOtherQueue: false })),
    ).toMatchObject({
      queue: 'showroom',
      strategy: 'team_only',
    });
    expect(
      routeToAgent(input({ forceQueue: 'showroom' }), [agent('d1', 'dcc')], teams, policy()),
    ).toMatchObject({
      queue: 'showroom',
      strategy: 'team_only',
    });
  });

  it('never picks an excluded agent', () => {
    const result = routeToAgent(
      input({ excludeAgentIds: ['s1'] }),
      [agent('s1', 'showroom'), agent('s2', 'showroom', { openLeads: 8 })],
      teams,
      policy(),
    );
    expect(result.agentId).toBe('s2');
  });

  it('leaves out the team when the dealer has none for the queue', () => {
    const result = routeToAgent(input(), [], [], policy());
    expect(result.teamId).toBeUndefined();
    expect(result.strategy).toBe('team_only');
  });
});

describe('calendar', () => {
  it('reads the local day, weekday and time in the dealer’s zone', () => {
    expect(localTime(new Date('2025-03-02T17:30:00.000Z'), 'Asia/Shanghai')).toEqual({
      day: '2025-03-03',
      weekday: 1,
      minutes: 90,
    });
  });

  it('handles overnight shifts, holidays and the no-roster case', () => {
    const night = [{ days: [1], start: '22:00', end: '06:00' }];
    expect(isOnShift(night, [], { day: '2025-03-03', weekday: 1, minutes: 23 * 60 })).toBe(true);
    expect(isOnShift(night, [], { day: '2025-03-03', weekday: 1, minutes: 12 * 60 })).toBe(false);
    expect(isOnShift([], [], { day: '2025-03-03', weekday: 1, minutes: 0 })).toBe(true);
    expect(isOnShift([], ['2025-03-03'], { day: '2025-03-03', weekday: 1, minutes: 600 })).toBe(false);
  });

  it('parses clock times strictly', () => {
    expect(parseClock('09:30')).toBe(570);
    expect(parseClock('24:00')).toBeUndefined();
    expect(parseClock('9:30')).toBeUndefined();
  });
});
