import { describe, expect, it } from 'vitest';
import { businessDay, trafficDayProblem } from './business-day.js';

const TZ = 'Asia/Shanghai';

describe('businessDay', () => {
  it('uses the local calendar day, not the UTC one', () => {
    expect(businessDay(new Date('2025-03-14T23:30:00Z'), TZ)).toBe('2025-03-15');
    expect(businessDay(new Date('2025-03-15T15:59:59Z'), TZ)).toBe('2025-03-15');
    expect(businessDay(new Date('2025-03-15T16:00:00Z'), TZ)).toBe('2025-03-16');
  });
});

describe('trafficDayProblem', () => {
  const now = new Date('2025-03-15T06:00:00Z'); // 14:00 in Shanghai
  it('accepts any time earlier today', () => {
    expect(trafficDayProblem(new Date('2025-03-14T16:00:00Z'), now, TZ)).toBeUndefined();
    expect(trafficDayProblem(now, now, TZ)).toBeUndefined();
  });
  it('refuses yesterday (same-day entry only) and the future', () => {
    expect(trafficDayProblem(new Date('2025-03-14T15:59:59Z'), now, TZ)).toMatch(/today \(2025-03-15\) only/);
    expect(trafficDayProblem(new Date('2025-03-15T07:00:00Z'), now, TZ)).toMatch(/future/);
  });
});
