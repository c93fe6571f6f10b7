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

describe('createTtlCache refresh ahead', () => {
  const settle = async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  };

  it('serves a value in the second half of its life while reading it again, then the new one', async () => {
    vi.useFakeTimers();
    try {
      const cache = createTtlCache<number>(1_000);
      let next = 1;
      const load = vi.fn(() => Promise.resolve(next++));
      expect(await cache.get('a', load)).toBe(1);
      vi.advanceTimersByTime(400);
      expect(await cache.get('a', load)).toBe(1);
      expect(load).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(200); // 600 ms old: served, and read again in the background
      expect(await cache.get('a', load)).toBe(1);
      await settle();
      expect(load).toHaveBeenCalledTimes(2);
      expect(await cache.get('a', load)).toBe(2);
      // The refreshed value's life starts when its read began: 900 ms later it is still served...
      vi.advanceTimersByTime(900);
      expect(await cache.get('a', load)).toBe(2);
      await settle();
      expect(load).toHaveBeenCalledTimes(3);
      // ...and without traffic a value is never served past its ttl: the read is awaited.
      vi.advanceTimersByTime(1_001);
      expect(await cache.get('a', load)).toBe(4);
      expect(load).toHaveBeenCalledTimes(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the old value when a refresh fails, and drops a refresh that began before a delete', async () => {
    vi.useFakeTimers();
    try {
      const cache = createTtlCache<string>(1_000);
      await cache.get('a', () => Promise.resolve('old'));
      vi.advanceTimersByTime(600);
      expect(await cache.get('a', () => Promise.reject(new Error('down')))).toBe('old');
      await settle();
      expect(await cache.get('a', () => Promise.resolve('unused'))).toBe('old');
      await settle();

      // A refresh in flight when the value is deleted (e.g. a source revoked through this instance).
      const cache2 = createTtlCache<string>(1_000);
      await cache2.get('k', () => Promise.resolve('before'));
      vi.advanceTimersByTime(600);
      let finish: (v: string) => void = () => undefined;
      const slow = () => new Promise<string>((resolve) => (finish = resolve));
      expect(await cache2.get('k', slow)).toBe('before');
      await settle();
      cache2.delete('k');
      expect(await cache2.get('k', () => Promise.resolve('after'))).toBe('after');
      finish('stale read');
      await settle();
      expect(await cache2.get('k', () => Promise.resolve('unused'))).toBe('after');
    } finally {
      vi.useRealTimers();
    }
  });
});
