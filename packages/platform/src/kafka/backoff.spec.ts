import { describe, expect, it } from 'vitest';
import { computeBackoff, DEFAULT_RETRY } from './backoff.js';

const policy = { initialMs: 200, maxMs: 10_000 };

describe('computeBackoff', () => {
  it('doubles per attempt, between half and all of the exponential ceiling', () => {
    expect(computeBackoff(1, policy, () => 0)).toBe(100);
    expect(computeBackoff(1, policy, () => 1)).toBe(200);
    expect(computeBackoff(2, policy, () => 0)).toBe(200);
    expect(computeBackoff(2, policy, () => 1)).toBe(400);
    expect(computeBackoff(3, policy, () => 0.5)).toBe(600);
  });

  it('never exceeds maxMs however many attempts failed', () => {
    for (const attempt of [7, 10, 30, 200]) {
      expect(computeBackoff(attempt, policy, () => 1)).toBe(10_000);
      expect(computeBackoff(attempt, policy, () => 0)).toBe(5_000);
    }
  });

  it('stays within bounds with real randomness and never retries immediately', () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i += 1) {
        const delay = computeBackoff(attempt, policy);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('treats attempt 0 like the first attempt', () => {
    expect(computeBackoff(0, policy, () => 1)).toBe(200);
  });

  it('defaults to 5 attempts from 200 ms up to 10 s', () => {
    expect(DEFAULT_RETRY).toEqual({ attempts: 5, initialMs: 200, maxMs: 10_000 });
  });
});
