import { describe, expect, it } from 'vitest';
import { buildWallboard, DefaultWallboardTargets } from './wallboard.js';

describe('buildWallboard', () => {
  it('gives totals, per-agent progress against target and alerts', () => {
    const board = buildWallboard(
      '2025-03-03',
      { calls: 50, connectedCalls: 5, invitations: 3, slaFirstContactBreached: 2, slaFirstContactMet: 6 },
      new Map([
        ['a1', { calls: 40, connectedCalls: 2, invitations: 1 }],
        ['a2', { calls: 10, connectedCalls: 3, invitations: 2 }],
        ['(none)', { leadsReceived: 9 }],
      ]),
    );
    expect(board.totals).toMatchObject({ dials: 50, connectRate: 0.1, slaCompliance: 0.75, invitations: 3 });
    expect(board.agents.map((a) => [a.agentId, a.dialsVsTarget, a.invitationsVsTarget])).toEqual([
      ['a1', 40 / 80, 1 / 5],
      ['a2', 10 / 80, 2 / 5],
    ]);
    expect(board.alerts).toEqual([
      { kind: 'connect_rate_low', agentId: null, connectRate: 0.1, calls: 50 },
      { kind: 'first_contact_sla_breached', agentId: null, count: 2 },
      // a2 made too few calls for its 30 % to mean anything (and it is above 20 % anyway).
      { kind: 'connect_rate_low', agentId: 'a1', connectRate: 0.05, calls: 40 },
    ]);
    expect(board.targets).toEqual(DefaultWallboardTargets);
  });

  it('has null rates and no alerts on an empty day', () => {
    const board = buildWallboard('2025-03-03', {}, new Map());
    expect(board.totals.connectRate).toBeNull();
    expect(board.totals.slaCompliance).toBeNull();
    expect(board.alerts).toEqual([]);
    expect(board.agents).toEqual([]);
  });
});
