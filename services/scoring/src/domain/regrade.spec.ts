import type { ChannelRef } from '@leadflow/contracts/common';
import { describe, expect, it } from 'vitest';
import { GradeDictionaryPresets } from './grade-dictionaries.js';
import { decideRegrade, type IntentEvent, type RegradeState } from './regrade.js';

const subaru = GradeDictionaryPresets.subaru!;
const gwm = GradeDictionaryPresets.gwm!;
const nissan = GradeDictionaryPresets.nissan!;
const channel: ChannelRef = { l1: 'oem', l2: 'official_site', l3: 'site' };
const day = (n: number) => new Date(Date.UTC(2025, 2, 3 + n, 2));

const state = (grade: string, overrides: Partial<RegradeState> = {}): RegradeState => ({
  grade,
  intent: { model: 'Forester', budget: '20万' },
  lock: { callsAt: [] },
  engagement: {},
  ...overrides,
});

const call = (
  at: Date,
  extra: Partial<Extract<IntentEvent, { type: 'lead.followed_up' }>> = {},
): IntentEvent => ({
  type: 'lead.followed_up',
  at,
  method: 'phone',
  outcome: 'connected',
  ...extra,
});

describe('decideRegrade', () => {
  it('regrades from a new stated timeframe on a follow-up', () => {
    const decision = decideRegrade(
      subaru,
      state('C'),
      call(day(0), { intent: { timeframe: '一周内' } }),
      channel,
    );
    expect(decision).toMatchObject({ changed: true, purchaseDays: 7, basis: 'stated' });
    expect(decision.grade.code).toBe('H');
    expect(decision.intent).toMatchObject({ model: 'Forester', timeframe: '一周内' });
    expect(decision.reasons[0]?.en).toBe('Stated timeframe "一周内" read as 7 days');
  });

  it("takes the consultant's grade over the timeframe, and ignores codes outside the dictionary", () => {
    expect(
      decideRegrade(
        subaru,
        state('C'),
        call(day(0), { gradeSuggestion: 'A', intent: { timeframe: 3 } }),
        channel,
      ).grade.code,
    ).toBe('A');
    const unknown = decideRegrade(subaru, state('C'), call(day(0), { gradeSuggestion: 'Z' }), channel);
    expect(unknown.changed).toBe(false);
    expect(unknown.reasons.map((r) => r.en).join()).toMatch(/Suggested grade Z is not in the dictionary/);
  });

  it('leaves the grade when a follow-up brings no new timeframe', () => {
    const decision = decideRegrade(subaru, state('B'), call(day(0)), channel);
    expect(decision.changed).toBe(false);
    expect(decision.grade.code).toBe('B');
  });

  it('a visit and a test drive raise the grade one step each (by dictionary rule)', () => {
    const visited = decideRegrade(subaru, state('B'), { type: 'lead.visited', at: day(1) }, channel);
    expect(visited).toMatchObject({ changed: true, engagement: { visited: true } });
    expect(visited.grade.code).toBe('A');
    const driven = decideRegrade(subaru, state('A'), { type: 'lead.test_driven', at: day(1) }, channel);
    expect(driven.grade.code).toBe('H');
    const top = decideRegrade(subaru, state('H'), { type: 'lead.test_driven', at: day(1) }, channel);
    expect(top.changed).toBe(false);
    const noRule = { ...subaru, rules: {} };
    expect(decideRegrade(noRule, state('B'), { type: 'lead.visited', at: day(1) }, channel).changed).toBe(
      false,
    );
  });

  it('an order gives the order grade where the dictionary has one (gwm O) and nothing elsewhere', () => {
    expect(decideRegrade(gwm, state('A'), { type: 'lead.ordered', at: day(2) }, channel).grade.code).toBe(
      'O',
    );
    const subaruOrder = decideRegrade(subaru, state('A'), { type: 'lead.ordered', at: day(2) }, channel);
    expect(subaruOrder).toMatchObject({ changed: false, engagement: { ordered: true } });
    // An order grade is not stepped by a later visit.
    expect(decideRegrade(gwm, state('O'), { type: 'lead.visited', at: day(3) }, channel).changed).toBe(false);
  });

  it('regrades from nurturing re-verification and hand-back intents', () => {
    const back = decideRegrade(
      subaru,
      state('N'),
      { type: 'lead.nurture_handed_back', at: day(60), intent: { timeframe: '一个月内' } },
      channel,
    );
    expect(back.grade.code).toBe('B');
    const still = decideRegrade(
      subaru,
      state('N'),
      { type: 'lead.nurture_reverified', at: day(60), outcome: 'still_interested' },
      channel,
    );
    expect(still.changed).toBe(false);
  });

  describe('nissan: grade fixed after three calls in the first week', () => {
    it('keeps regrading until the third connected call, which still sets the grade, then locks', () => {
      let s = state('B');
      const first = decideRegrade(nissan, s, call(day(0), { intent: { timeframe: '1个月' } }), channel);
      expect(first.grade.code).toBe('A');
      expect(first.lock).toEqual({ callsAt: [day(0).toISOString()] });
      s = { ...s, grade: first.grade.code, lock: first.lock, intent: first.intent };

      const second = decideRegrade(nissan, s, call(day(2)), channel);
      s = { ...s, lock: second.lock };
      const third = decideRegrade(nissan, s, call(day(5), { intent: { timeframe: '一周内' } }), channel);
      expect(third.grade.code).toBe('H');
      expect(third.lock.lockedAt).toBe(day(5).toISOString());
      expect(third.reasons.at(-1)?.en).toBe('Call 3 within the first 7 days: grade is now fixed');
      s = { ...s, grade: 'H', lock: third.lock };

      const fourth = decideRegrade(nissan, s, call(day(6), { intent: { timeframe: '3个月' } }), channel);
      expect(fourth.changed).toBe(false);
      expect(fourth.reasons[0]?.en).toMatch(/Grade fixed after 3 calls/);
      const reverified = decideRegrade(
        nissan,
        s,
        { type: 'lead.nurture_reverified', at: day(30), outcome: 'ready', intent: { timeframe: '3个月' } },
        channel,
      );
      expect(reverified.changed).toBe(false);
    });

    it('still lets a showroom visit regrade a fixed grade (re-grading moves to the showroom)', () => {
      const locked = state('B', { lock: { callsAt: [], lockedAt: day(5).toISOString() } });
      expect(decideRegrade(nissan, locked, { type: 'lead.visited', at: day(8) }, channel).grade.code).toBe(
        'A',
      );
    });

    it('counts only connected phone calls, and only within the first week', () => {
      const s = state('B', { lock: { callsAt: [day(0).toISOString(), day(1).toISOString()] } });
      expect(
        decideRegrade(nissan, s, call(day(2), { outcome: 'no_answer' }), channel).lock.lockedAt,
      ).toBeUndefined();
      expect(
        decideRegrade(nissan, s, call(day(2), { method: 'sms' }), channel).lock.lockedAt,
      ).toBeUndefined();
      expect(decideRegrade(nissan, s, call(day(9)), channel).lock).toEqual(s.lock);
      expect(decideRegrade(nissan, s, call(day(6)), channel).lock.lockedAt).toBe(day(6).toISOString());
    });

    it('is configuration: another dictionary can fix the grade after 2 calls in 3 days, against visits too', () => {
      const strict = {
        ...subaru,
        rules: {
          ...subaru.rules,
          gradeLock: {
            afterCalls: 2,
            withinDays: 3,
            lockedTriggers: ['lead.followed_up', 'lead.visited'] as ('lead.followed_up' | 'lead.visited')[],
          },
        },
      };
      const first = decideRegrade(strict, state('C'), call(day(0)), channel);
      expect(first.lock.lockedAt).toBeUndefined();
      const second = decideRegrade(strict, { ...state('C'), lock: first.lock }, call(day(3)), channel);
      expect(second.lock.lockedAt).toBe(day(3).toISOString());
      expect(second.reasons.at(-1)?.en).toBe('Call 2 within the first 3 days: grade is now fixed');
      const locked = { ...state('C'), lock: second.lock };
      const visit = decideRegrade(strict, locked, { type: 'lead.visited', at: day(4) }, channel);
      expect(visit).toMatchObject({ changed: false });
      expect(visit.reasons[0]?.en).toBe(
        'Grade fixed after 2 calls in the first 3 days; lead.visited no longer changes it',
      );
      // A test drive is not among the locked triggers of this dictionary.
      expect(
        decideRegrade(strict, locked, { type: 'lead.test_driven', at: day(4) }, channel).grade.code,
      ).toBe('B');
      // Too late for the window: a call on day 4 after one on day 0 does not lock.
      expect(decideRegrade(strict, { ...state('C'), lock: first.lock }, call(day(4)), channel).lock).toEqual(
        first.lock,
      );
    });

    it('brands without the rule never lock', () => {
      const s = state('B', { lock: { callsAt: [day(0).toISOString(), day(1).toISOString()] } });
      expect(decideRegrade(subaru, s, call(day(2)), channel).lock).toEqual(s.lock);
    });
  });

  it('rejects a state whose grade is not in the dictionary', () => {
    expect(() => decideRegrade(subaru, state('O'), call(day(0)), channel)).toThrow(/not in the dictionary/);
  });
});
