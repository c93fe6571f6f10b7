import { describe, expect, it } from 'vitest';
import { backoffDelay, isDelivered, nextAttempt, type RetryPolicy } from './retry-schedule.js';

const policy: RetryPolicy = { initialMs: 30_000, maxMs: 3_600_000, maxAgeMs: 24 * 3_600_000 };
const t0 = new Date('2025-03-03T00:00:00.000Z');

describe('backoffDelay', () => {
  it('doubles from the initial delay, with equal jitter between half and the full ceiling', () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(15_000);
    expect(backoffDelay(1, policy, () => 1)).toBe(30_000);
    expect(backoffDelay(2, policy, () => 1)).toBe(60_000);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(90_000);
  });

  it('never exceeds the maximum and never returns 0', () => {
    expect(backoffDelay(30, policy, () => 1)).toBe(3_600_000);
    expect(backoffDelay(10_000, policy, () => 1)).toBe(3_600_000);
    expect(backoffDelay(1, { initialMs: 1, maxMs: 1, maxAgeMs: 1 }, () => 0)).toBe(1);
  });

  it('spreads retries: different random draws give different delays', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, policy)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(120_000);
  });
});

describe('nextAttempt', () => {
  it('schedules the next attempt after the backoff', () => {
    const now = new Date(t0.getTime() + 60_000);
    expect(
      nextAttempt({ attempt: 2, firstAttemptAt: t0, now, status: 500, policy, random: () => 1 }),
    ).toEqual({
      retry: true,
      at: new Date(now.getTime() + 60_000),
    });
  });

  it('keeps retrying for up to 24 hours after the first attempt, then gives up', () => {
    let now = t0;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      const decision = nextAttempt({ attempt: attempts, firstAttemptAt: t0, now, policy, random: () => 1 });
      if (!decision.retry) {
        expect(decision.reason).toBe('max_age');
        break;
      }
      now = decision.at;
    }
    expect(now.getTime() - t0.getTime()).toBeLessThanOrEqual(policy.maxAgeMs);
    expect(now.getTime() - t0.getTime()).toBeGreaterThan(policy.maxAgeMs - policy.maxMs);
    // 30 s, 1 min, … 32 min, then hourly: 7 growing delays and about 22 hourly ones.
    expect(attempts).toBeGreaterThan(25);
    expect(attempts).toBeLessThan(35);
  });

  it('gives up at once on 410 Gone', () => {
    expect(nextAttempt({ attempt: 1, firstAttemptAt: t0, now: t0, status: 410, policy })).toEqual({
      retry: false,
      reason: 'gone',
    });
  });
});

describe('isDelivered', () => {
  it('accepts 2xx only', () => {
    for (const s of [200, 201, 202, 204, 299]) expect(isDelivered(s)).toBe(true);
    for (const s of [100, 199, 301, 302, 400, 404, 429, 500, 503]) expect(isDelivered(s)).toBe(false);
  });
});
