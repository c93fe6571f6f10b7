import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DEDUP_RULE,
  decideDedup,
  dedupRuleProblems,
  identityKey,
  newCustomerId,
  type DedupCandidate,
  type DedupRule,
} from './dedup.js';

const DAY = 24 * 60 * 60 * 1000;
const now = new Date('2025-03-31T00:00:00.000Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY);
const rule: DedupRule = DEFAULT_DEDUP_RULE;
const withEmail: DedupRule = { ...rule, id: 'r2', matchKeys: ['mobile', 'email'] };

const open = (leadId: string, over: Partial<DedupCandidate> = {}): DedupCandidate => ({
  leadId,
  customerId: `c-${leadId}`,
  status: 'open',
  receivedAt: daysAgo(3),
  matchedOn: 'mobile',
  ...over,
});
const closed = (
  leadId: string,
  closedAs: DedupCandidate['closedAs'],
  closedDaysAgo: number,
  over: Partial<DedupCandidate> = {},
): DedupCandidate => ({
  leadId,
  customerId: `c-${leadId}`,
  status: 'closed',
  closedAs,
  closedAt: daysAgo(closedDaysAgo),
  receivedAt: daysAgo(closedDaysAgo + 10),
  matchedOn: 'mobile',
  ...over,
});

describe('decideDedup', () => {
  it('is a new lead when nothing matches', () => {
    expect(decideDedup(rule, now, [])).toEqual({ kind: 'cleansed' });
  });

  it('merges into an open lead, keeping its customer', () => {
    expect(decideDedup(rule, now, [open('L1')])).toEqual({
      kind: 'duplicate',
      openLeadId: 'L1',
      customerId: 'c-L1',
      matchedOn: 'mobile',
    });
  });

  it('merges into an open lead whatever its age (ownership protection has no window)', () => {
    expect(decideDedup(rule, now, [open('L1', { receivedAt: daysAgo(400) })])).toMatchObject({
      kind: 'duplicate',
    });
  });

  it('prefers an open lead over closed history', () => {
    expect(decideDedup(rule, now, [closed('L0', 'defeated', 1), open('L1')])).toMatchObject({
      kind: 'duplicate',
      openLeadId: 'L1',
    });
  });

  it.each(['defeated', 'invalid', 'archived'] as const)(
    'reactivates a customer whose lead was %s',
    (closedAs) => {
      expect(decideDedup(rule, now, [closed('L0', closedAs, 5)])).toEqual({
        kind: 'reactivated',
        reactivatedFrom: 'L0',
        customerId: 'c-L0',
        previousStatus: closedAs,
        matchedOn: 'mobile',
      });
    },
  );

  it('treats a won history as a new sale, not a reactivation', () => {
    expect(decideDedup(rule, now, [closed('L0', 'won', 5)])).toEqual({ kind: 'cleansed' });
  });

  it('links to the most recently closed lead', () => {
    const decision = decideDedup(rule, now, [
      closed('L0', 'defeated', 20),
      closed('L2', 'archived', 2),
      closed('L1', 'invalid', 10),
    ]);
    expect(decision).toMatchObject({
      kind: 'reactivated',
      reactivatedFrom: 'L2',
      previousStatus: 'archived',
    });
  });

  it('treats a sale after a defeat as the end of that history', () => {
    expect(decideDedup(rule, now, [closed('L0', 'defeated', 20), closed('L1', 'won', 5)])).toEqual({
      kind: 'cleansed',
    });
  });

  it('reactivates a defeat that came after an earlier sale', () => {
    expect(decideDedup(rule, now, [closed('L0', 'won', 20), closed('L1', 'defeated', 5)])).toMatchObject({
      kind: 'reactivated',
      reactivatedFrom: 'L1',
      previousStatus: 'defeated',
    });
  });

  it('ignores a closed candidate whose closure kind is unknown', () => {
    const c: DedupCandidate = { ...closed('L0', 'defeated', 5) };
    delete c.closedAs;
    expect(decideDedup(rule, now, [c])).toEqual({ kind: 'cleansed' });
  });

  it('reactivates on a closed lead matched by email when the rule enables email', () => {
    const c = closed('L0', 'invalid', 3, { matchedOn: 'email' });
    expect(decideDedup(withEmail, now, [c])).toMatchObject({ kind: 'reactivated', matchedOn: 'email' });
    expect(decideDedup(rule, now, [c])).toEqual({ kind: 'cleansed' });
  });

  it('prefers the mobile match when two closures tie on time', () => {
    const at = daysAgo(2);
    const decision = decideDedup(withEmail, now, [
      closed('byEmail', 'archived', 2, { matchedOn: 'email', closedAt: at }),
      closed('byMobile', 'defeated', 2, { matchedOn: 'mobile', closedAt: at }),
    ]);
    expect(decision).toMatchObject({ reactivatedFrom: 'byMobile', matchedOn: 'mobile' });
  });

  it('keeps the customer id of the history it reactivates', () => {
    expect(decideDedup(rule, now, [closed('L0', 'archived', 1, { customerId: 'cust-x' })])).toMatchObject({
      customerId: 'cust-x',
    });
  });

  describe('window edges (30 days, inclusive)', () => {
    it.each([1, 30, 365, 3650])('a %i-day window includes its last millisecond and not one more', (days) => {
      const windowed: DedupRule = { ...rule, windowDays: days };
      const edge = daysAgo(days).getTime();
      const at = (ms: number) => closed('L0', 'defeated', 0, { closedAt: new Date(ms) });
      expect(decideDedup(windowed, now, [at(edge)])).toMatchObject({ kind: 'reactivated' });
      expect(decideDedup(windowed, now, [at(edge - 1)])).toEqual({ kind: 'cleansed' });
    });
    it('is a new lead when a sale is inside the window and the defeat outside', () => {
      expect(decideDedup(rule, now, [closed('L0', 'defeated', 40), closed('L1', 'won', 10)])).toEqual({
        kind: 'cleansed',
      });
    });
    it('reactivates exactly at the window start', () => {
      expect(decideDedup(rule, now, [closed('L0', 'defeated', 30)])).toMatchObject({ kind: 'reactivated' });
    });
    it('is a new lead one millisecond past the window', () => {
      const c = closed('L0', 'defeated', 30, { closedAt: new Date(daysAgo(30).getTime() - 1) });
      expect(decideDedup(rule, now, [c])).toEqual({ kind: 'cleansed' });
    });
    it('reactivates one millisecond inside the window', () => {
      const c = closed('L0', 'defeated', 30, { closedAt: new Date(daysAgo(30).getTime() + 1) });
      expect(decideDedup(rule, now, [c])).toMatchObject({ kind: 'reactivated' });
    });
    it('counts a closure after the new lead (reordered delivery) as inside', () => {
      const c = closed('L0', 'archived', 0, { closedAt: new Date(now.getTime() + DAY) });
      expect(decideDedup(rule, now, [c])).toMatchObject({ kind: 'reactivated' });
    });
    it('falls back to receivedAt when the closure time is unknown', () => {
      const c: DedupCandidate = {
        leadId: 'L0',
        customerId: 'c',
        status: 'closed',
        closedAs: 'invalid',
        receivedAt: daysAgo(29),
        matchedOn: 'mobile',
      };
      expect(decideDedup(rule, now, [c])).toMatchObject({ kind: 'reactivated' });
      expect(decideDedup(rule, now, [{ ...c, receivedAt: daysAgo(31) }])).toEqual({ kind: 'cleansed' });
    });
    it('follows the configured window', () => {
      const week: DedupRule = { ...rule, windowDays: 7 };
      expect(decideDedup(week, now, [closed('L0', 'defeated', 7)])).toMatchObject({ kind: 'reactivated' });
      expect(decideDedup(week, now, [closed('L0', 'defeated', 8)])).toEqual({ kind: 'cleansed' });
    });
    it('picks the in-window lead when older history is outside', () => {
      expect(
        decideDedup(rule, now, [closed('old', 'defeated', 90), closed('new', 'invalid', 29)]),
      ).toMatchObject({
        reactivatedFrom: 'new',
      });
    });
  });

  describe('match keys', () => {
    it('ignores matches on keys the rule does not enable', () => {
      expect(decideDedup(rule, now, [open('L1', { matchedOn: 'email' })])).toEqual({ kind: 'cleansed' });
      expect(decideDedup(rule, now, [closed('L0', 'defeated', 1, { matchedOn: 'phone' })])).toEqual({
        kind: 'cleansed',
      });
    });
    it('matches on email when enabled', () => {
      expect(decideDedup(withEmail, now, [open('L1', { matchedOn: 'email' })])).toMatchObject({
        kind: 'duplicate',
        matchedOn: 'email',
      });
    });
    it('prefers the earlier key when two open leads match', () => {
      const decision = decideDedup(withEmail, now, [
        open('byEmail', { matchedOn: 'email', receivedAt: daysAgo(50) }),
        open('byMobile', { matchedOn: 'mobile', receivedAt: daysAgo(1) }),
      ]);
      expect(decision).toMatchObject({ openLeadId: 'byMobile', matchedOn: 'mobile' });
    });
    it('prefers the oldest open lead on the same key', () => {
      const decision = decideDedup(rule, now, [
        open('newer', { receivedAt: daysAgo(1) }),
        open('older', { receivedAt: daysAgo(9) }),
      ]);
      expect(decision).toMatchObject({ openLeadId: 'older' });
    });
  });
});

describe('identityKey', () => {
  it('is the first enabled key the lead has', () => {
    expect(identityKey(withEmail, { mobile: 'm', email: 'e' })).toEqual({ key: 'mobile', hash: 'm' });
    expect(identityKey(withEmail, { email: 'e' })).toEqual({ key: 'email', hash: 'e' });
    expect(identityKey(rule, { email: 'e' })).toBeUndefined();
    expect(identityKey(rule, {})).toBeUndefined();
  });
});

describe('newCustomerId', () => {
  const digest = (value: string) => Buffer.from(value).toString('hex').padEnd(40, '0');
  it('is derived from the identity, so every instance agrees', () => {
    const a = newCustomerId('oem', { key: 'mobile', hash: 'h' }, 'L1', digest);
    expect(newCustomerId('oem', { key: 'mobile', hash: 'h' }, 'L2', digest)).toBe(a);
    expect(a).toMatch(/^cust-.{32}$/);
  });
  it('is per lead without an identity, and per OEM', () => {
    expect(newCustomerId('oem', undefined, 'L1', digest)).not.toBe(
      newCustomerId('oem', undefined, 'L2', digest),
    );
    expect(newCustomerId('a', { key: 'mobile', hash: 'h' }, 'L', digest)).not.toBe(
      newCustomerId('b', { key: 'mobile', hash: 'h' }, 'L', digest),
    );
  });
});

describe('dedupRuleProblems', () => {
  it('accepts the default and mobile-first key lists', () => {
    expect(dedupRuleProblems(DEFAULT_DEDUP_RULE)).toEqual([]);
    expect(dedupRuleProblems({ matchKeys: ['mobile', 'email', 'phone'], windowDays: 90 })).toEqual([]);
  });
  it('rejects rules that do not start with the mobile, repeat keys or have a bad window', () => {
    expect(dedupRuleProblems({ matchKeys: ['email'], windowDays: 30 })).toHaveLength(1);
    expect(dedupRuleProblems({ matchKeys: ['mobile', 'mobile'], windowDays: 30 })).toHaveLength(1);
    expect(dedupRuleProblems({ matchKeys: ['mobile'], windowDays: 0 })).toHaveLength(1);
    expect(dedupRuleProblems({ matchKeys: ['mobile'], windowDays: 1.5 })).toHaveLength(1);
  });
});
