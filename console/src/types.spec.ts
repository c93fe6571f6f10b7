import { describe, expect, it } from 'vitest';
import { dueState } from './types.js';

describe('dueState (work-list highlighting)', () => {
  const now = Date.parse('2026-06-01T10:00:00Z');
  it('marks a past deadline overdue', () => {
    expect(dueState('2026-06-01T09:59:59Z', now)).toBe('overdue');
  });
  it('marks a deadline within two hours as due soon, the boundary included', () => {
    expect(dueState('2026-06-01T10:00:00Z', now)).toBe('due-soon');
    expect(dueState('2026-06-01T11:59:59Z', now)).toBe('due-soon');
  });
  it('leaves later deadlines, missing and unreadable ones unmarked', () => {
    expect(dueState('2026-06-01T12:00:00Z', now)).toBeUndefined();
    expect(dueState(undefined, now)).toBeUndefined();
    expect(dueState('not a date', now)).toBeUndefined();
  });
});
