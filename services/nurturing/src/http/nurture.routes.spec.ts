import { AppError } from '@leadflow/platform/http';
import { describe, expect, it } from 'vitest';
import { firstCallOf } from './nurture.routes.js';

const now = Date.parse('2026-12-01T08:00:00.000Z');
const day = 24 * 3_600_000;

describe('firstCallOf', () => {
  it('defaults to now', () => {
    expect(firstCallOf(undefined, now)).toBe('2026-12-01T08:00:00.000Z');
  });

  it('accepts an instant within a year either way, normalised to UTC', () => {
    expect(firstCallOf('2026-12-03T09:30:00+08:00', now)).toBe('2026-12-03T01:30:00.000Z');
    expect(firstCallOf(new Date(now + 365 * day).toISOString(), now)).toBe('2027-12-01T08:00:00.000Z');
    expect(firstCallOf(new Date(now - 365 * day).toISOString(), now)).toBe('2025-12-01T08:00:00.000Z');
  });

  it('refuses instants more than a year away (a timer Temporal cannot keep) as a validation error', () => {
    for (const at of [
      '9999-12-31T23:59:59Z',
      '0001-01-01T00:00:00Z',
      new Date(now + 367 * day).toISOString(),
    ]) {
      expect(() => firstCallOf(at, now), at).toThrow(
        expect.objectContaining({ type: 'validation', status: 400 }),
      );
      expect(() => firstCallOf(at, now), at).toThrow(AppError);
    }
  });
});
