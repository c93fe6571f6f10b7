import { describe, expect, it } from 'vitest';
import { isLastDayOfMonth, transferCandidates, type TransferCandidate } from './scheduled-transfers.js';

const now = new Date('2025-05-31T12:00:00Z');
const lead = (leadId: string, over: Partial<TransferCandidate> = {}): TransferCandidate => ({
  leadId,
  queue: 'showroom',
  grade: 'H',
  status: 'pending_re_follow_up',
  allocatedAt: new Date('2025-05-20T00:00:00Z'),
  ...over,
});

describe('transferCandidates', () => {
  const leads = [
    lead('h'),
    lead('a', { grade: 'A' }),
    lead('b', { grade: 'B' }),
    lead('c', { grade: 'C' }),
    lead('f', { grade: 'F' }),
    lead('dcc-b', { grade: 'B', queue: 'dcc' }),
    lead('won-b', { grade: 'B', status: 'won' }),
    lead('ordered-b', { grade: 'B', status: 'ordered' }),
    lead('old-h', { allocatedAt: new Date('2025-03-30T00:00:00Z') }),
    lead('old-h-2', { allocatedAt: new Date('2025-04-01T00:00:00Z') }),
    lead('lost-h', { status: 'lost_contact' }),
  ];
  const ids = (rule: Parameters<typeof transferCandidates>[1]) =>
    transferCandidates(leads, rule, now).map((l) => l.leadId);

  it('moves open showroom B/C/F leads every morning', () => {
    expect(ids('daily_grade')).toEqual(['b', 'c', 'f']);
  });
  it('moves showroom leads without a deal two months after allocation', () => {
    expect(ids('two_months')).toEqual(['old-h']);
  });
  it('keeps only H/A in the showroom at month-end (lost contact goes too)', () => {
    expect(ids('month_end')).toEqual(['b', 'c', 'f', 'lost-h']);
  });
});

describe('isLastDayOfMonth', () => {
  it('knows month lengths and leap years', () => {
    expect(isLastDayOfMonth('2025-05-31')).toBe(true);
    expect(isLastDayOfMonth('2025-05-30')).toBe(false);
    expect(isLastDayOfMonth('2024-02-29')).toBe(true);
    expect(isLastDayOfMonth('2025-02-28')).toBe(true);
    expect(isLastDayOfMonth('2025-04-30')).toBe(true);
    expect(isLastDayOfMonth('nonsense')).toBe(false);
  });
});
