import { describe, expect, it } from 'vitest';
import { createRateWindow } from './rate-window.js';

describe('createRateWindow', () => {
  it('allows the limit per minute and per key, then refuses until the next minute', () => {
    let now = 60_000 * 100;
    const window = createRateWindow(() => now);
    expect(window.take('a', 2)).toBe(true);
    expect(window.take('a', 2)).toBe(true);
    expect(window.take('a', 2)).toBe(false);
    expect(window.take('b', 2)).toBe(true);
    now += 60_000;
    expect(window.take('a', 2)).toBe(true);
  });

  it('charges a batch by its size and refuses it whole', () => {
    const window = createRateWindow(() => 0);
    expect(window.take('a', 10, 8)).toBe(true);
    expect(window.take('a', 10, 3)).toBe(false);
    expect(window.take('a', 10, 2)).toBe(true);
  });
});
