import { describe, expect, it, vi } from 'vitest';
import { createTtlCache } from './ttl-cache.js';

describe('createTtlCache', () => {
  it('loads once per key within the ttl, again after it or after a delete', async () => {
    vi.useFakeTimers();
    try {
      const cache = createTtlCache<number>(1_000);
      const load = vi.fn(() => Promise.resolve(1));
      await cache.get('a', load);
      await cache.get('a', load);
      expect(load).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(1_001);
      await cache.get('a', load);
      expect(load).toHaveBeenCalledTimes(2);
      cache.delete('a');
      await cache.get('a', load);
      expect(load).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not keep failed loads, and ttl 0 disables it', async () => {
    const cache = createTtlCache<number>(1_000);
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', () => Promise.resolve(2))).toBe(2);
    const off = createTtlCache<number>(0);
    const load = vi.fn(() => Promise.resolve(3));
    await off.get('a', load);
    await off.get('a', load);
    expect(load).toHaveBeenCalledTimes(2);
  });
});
