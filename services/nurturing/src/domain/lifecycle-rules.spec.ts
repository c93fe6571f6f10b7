import { describe, expect, it } from 'vitest';
import {
  defeatDecisionProblem,
  defeatRequestProblem,
  followUpProblem,
  purposeCode,
  type ActingPrincipal,
  type LifecycleView,
} from './lifecycle-rules.js';

const now = new Date('2025-03-03T02:00:00Z');
const later = '2025-03-05T02:00:00.000Z';
const owner = { dealerId: 'D1', agentId: 'A1' };
const open: LifecycleView = { status: 'pending_first_follow_up', owner };
const agent: ActingPrincipal = {
  actor: { id: 'u-a1', role: 'dcc_agent' },
  dealerId: 'D1',
  agentId: 'A1',
  manager: false,
};
const colleague: ActingPrincipal = { ...agent, actor: { id: 'u-a2', role: 'dcc_agent' }, agentId: 'A2' };
const manager: ActingPrincipal = {
  actor: { id: 'u-m', role: 'dealer_manager' },
  dealerId: 'D1',
  manager: true,
};
const otherDealerManager: ActingPrincipal = { ...manager, dealerId: 'D2' };
const detail = { reason: 'price' as const, description: 'customer found it too expensive' };

describe('followUpProblem', () => {
  const command = { by: agent, contactedAt: now.toISOString(), nextFollowUpAt: later };
  it('accepts the owner and managers on an open lead', () => {
    expect(followUpProblem(open, command, now)).toBeUndefined();
    expect(
      followUpProblem({ ...open, status: 'pending_re_follow_up' }, { ...command, by: manager }, now),
    ).toBeUndefined();
  });
  it('rejects closed or frozen states with the reason', () => {
    expect(followUpProblem({ ...open, status: 'defeated' }, command, now)).toMatch(/defeated/);
    expect(followUpProblem({ ...open, status: 'defeat_requested' }, command, now)).toMatch(
      /waiting for the manager/,
    );
  });
  it('rejects colleagues and other dealers', () => {
    expect(followUpProblem(open, { ...command, by: colleague }, now)).toMatch(/someone else/);
    expect(followUpProblem(open, { ...command, by: otherDealerManager }, now)).toMatch(/another dealer/);
  });
  it('rejects a plan in the past and a contact in the future', () => {
    expect(followUpProblem(open, { ...command, nextFollowUpAt: now.toISOString() }, now)).toMatch(
      /nextFollowUpAt/,
    );
    expect(followUpProblem(open, { ...command, contactedAt: later }, now)).toMatch(/contactedAt/);
  });
});

describe('defeatRequestProblem', () => {
  it('accepts a reasoned request from the owner', () => {
    expect(defeatRequestProblem(open, { by: agent, detail })).toBeUndefined();
  });
  it('requires bought_competitor when another brand was bought, and the brand with it', () => {
    expect(
      defeatRequestProblem(open, { by: agent, detail: { ...detail, competitorBrand: 'Toyota' } }),
    ).toMatch(/bought_competitor/);
    expect(
      defeatRequestProblem(open, { by: agent, detail: { ...detail, reason: 'bought_competitor' } }),
    ).toMatch(/competitorBrand/);
    expect(
      defeatRequestProblem(open, {
        by: agent,
        detail: { ...detail, reason: 'bought_competitor', competitorBrand: 'Toyota' },
      }),
    ).toBeUndefined();
  });
  it('rejects a second request while one is pending', () => {
    expect(defeatRequestProblem({ ...open, status: 'defeat_requested' }, { by: agent, detail })).toMatch(
      /waiting/,
    );
  });
});

describe('defeatDecisionProblem', () => {
  const pending: LifecycleView = { ...open, status: 'defeat_requested' };
  it('needs a pending request', () => {
    expect(defeatDecisionProblem(open, { by: manager, decision: 'approve' }, now)).toMatch(
      /no pending defeat request/,
    );
  });
  it("is the manager's decision, in the lead's dealer", () => {
    expect(defeatDecisionProblem(pending, { by: agent, decision: 'approve' }, now)).toMatch(/manager/);
    expect(defeatDecisionProblem(pending, { by: otherDealerManager, decision: 'approve' }, now)).toMatch(
      /another dealer/,
    );
    expect(defeatDecisionProblem(pending, { by: manager, decision: 'approve' }, now)).toBeUndefined();
  });
  it('needs a new plan to reject', () => {
    expect(defeatDecisionProblem(pending, { by: manager, decision: 'reject' }, now)).toMatch(
      /new follow-up plan/,
    );
    expect(
      defeatDecisionProblem(
        pending,
        { by: manager, decision: 'reject', nextFollowUpAt: now.toISOString() },
        now,
      ),
    ).toMatch(/future/);
    expect(
      defeatDecisionProblem(pending, { by: manager, decision: 'reject', nextFollowUpAt: later }, now),
    ).toBeUndefined();
  });
  it('needs another colleague to rescue', () => {
    expect(defeatDecisionProblem(pending, { by: manager, decision: 'reassign' }, now)).toMatch(/toAgentId/);
    expect(
      defeatDecisionProblem(pending, { by: manager, decision: 'reassign', toAgentId: 'A1' }, now),
    ).toMatch(/already/);
    expect(
      defeatDecisionProblem(pending, { by: manager, decision: 'reassign', toAgentId: 'A2' }, now),
    ).toBeUndefined();
  });
});

describe('purposeCode', () => {
  it("maps the API's purposes onto the contract's codes", () => {
    expect(purposeCode('test_drive')).toBe('test_drive_invitation');
    expect(purposeCode('materials')).toBe('materials');
  });
});
