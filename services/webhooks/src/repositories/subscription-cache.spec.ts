import { describe, expect, it } from 'vitest';
import { createCachedSubscriptions, type StoredSubscription } from './subscription.repository.js';

function counting() {
  const calls = { byId: 0, activeForOem: 0 };
  return {
    calls,
    repository: {
      byId: (id: string) => {
        calls.byId += 1;
        return Promise.resolve(id === 'missing' ? null : ({ _id: id } as StoredSubscription));
      },
      activeForOem: (_oemId: string) => {
        calls.activeForOem += 1;
        if (calls.activeForOem === 1) return Promise.reject(new Error('database down'));
        return Promise.resolve([] as StoredSubscription[]);
      },
    },
  };
}

describe('createCachedSubscriptions', () => {
  it('reads a subscription once per time-to-live, unless asked for a fresh read', async () => {
    const { calls, repository } = counting();
    const cache = createCachedSubscriptions(repository, 60_000);
    await cache.byId('s1');
    await cache.byId('s1');
    expect(calls.byId).toBe(1);
    await cache.byId('s1', true);
    expect(calls.byId).toBe(2);
    expect(await cache.byId('missing')).toBeNull();
    expect(calls.byId).toBe(3);
  });

  it('expires entries after the time-to-live', async () => {
    const { calls, repository } = counting();
    const cache = createCachedSubscriptions(repository, 0);
    await cache.byId('s1');
    await cache.byId('s1');
    expect(calls.byId).toBe(2);
  });

  it('does not keep a failed read', async () => {
    const { calls, repository } = counting();
    const cache = createCachedSubscriptions(repository, 60_000);
    await expect(cache.activeForOem('oem')).rejects.toThrow('database down');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await cache.activeForOem('oem')).toEqual([]);
    expect(calls.activeForOem).toBe(2);
  });
});
