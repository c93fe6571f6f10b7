import { describe, expect, it } from 'vitest';
import {
  addMonths,
  afterReverification,
  ARCHIVE_AFTER_UNREACHABLE,
  cadenceOf,
  nextSendAt,
  pickMaterial,
  reverificationDueAt,
  reverificationLapsesAt,
  type MaterialCandidate,
} from './nurture-journey.js';

describe('cadence', () => {
  it('is every two weeks for a 2–6 month horizon and monthly for 6–12 months', () => {
    expect(cadenceOf('2-6m')).toBe('biweekly');
    expect(cadenceOf('6-12m')).toBe('monthly');
    const at = new Date('2025-01-31T02:00:00Z');
    expect(nextSendAt(at, 'biweekly').toISOString()).toBe('2025-02-14T02:00:00.000Z');
    // Month ends clamp: Jan 31 → Feb 28.
    expect(nextSendAt(at, 'monthly').toISOString()).toBe('2025-02-28T02:00:00.000Z');
  });
  it('adds calendar months across years and leap days', () => {
    expect(addMonths(new Date('2024-12-15T00:00:00Z'), 2).toISOString()).toBe('2025-02-15T00:00:00.000Z');
    expect(addMonths(new Date('2023-12-29T00:00:00Z'), 2).toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });
  it('re-verifies every two months from the first send, lapsing after 14 days', () => {
    const first = new Date('2025-03-10T01:00:00Z');
    expect(reverificationDueAt(first, 1).toISOString()).toBe('2025-05-10T01:00:00.000Z');
    expect(reverificationDueAt(first, 3).toISOString()).toBe('2025-09-10T01:00:00.000Z');
    expect(reverificationLapsesAt(new Date('2025-05-10T01:00:00Z')).toISOString()).toBe(
      '2025-05-24T01:00:00.000Z',
    );
  });
});

describe('afterReverification', () => {
  it('hands back on intent, continues while interested, archives on no interest', () => {
    expect(afterReverification('ready', 1)).toEqual({ next: 'hand_back', unreachableStreak: 0 });
    expect(afterReverification('still_interested', 1)).toEqual({ next: 'continue', unreachableStreak: 0 });
    expect(afterReverification('not_interested', 0).next).toBe('archive');
  });
  it(`archives after ${ARCHIVE_AFTER_UNREACHABLE} unreachable re-verifications in a row`, () => {
    expect(afterReverification('unreachable', 0)).toEqual({ next: 'continue', unreachableStreak: 1 });
    expect(afterReverification('unreachable', 1)).toEqual({ next: 'archive', unreachableStreak: 2 });
  });
});

describe('pickMaterial', () => {
  const library: MaterialCandidate[] = [
    { materialId: 'a', kind: 'model_comparison', tags: ['suv'] },
    { materialId: 'b', kind: 'buying_guide', tags: ['suv', 'family'] },
    { materialId: 'c', kind: 'event', tags: [] },
    { materialId: 'd', kind: 'model_comparison', tags: ['suv', 'family'] },
  ];
  it('prefers the most shared tags, then a different kind than last time, then the id', () => {
    expect(pickMaterial(library, ['suv', 'family'], [])?.materialId).toBe('b');
    expect(pickMaterial(library, ['suv', 'family'], [], 'buying_guide')?.materialId).toBe('d');
    expect(pickMaterial(library, [], [])?.materialId).toBe('a');
  });
  it('never repeats a material, and runs out', () => {
    expect(pickMaterial(library, ['suv', 'family'], ['b', 'd'])?.materialId).toBe('a');
    expect(pickMaterial(library, [], ['a', 'b', 'c', 'd'])).toBeUndefined();
  });
});
