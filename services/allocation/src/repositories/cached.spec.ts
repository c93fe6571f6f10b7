import { describe, expect, it } from 'vitest';
import type { LoadRepository } from './load.repository.js';
import type { NetworkRepository, StoredDealer, StoredStaff } from './network.repository.js';
import { cachedDayCounts, cachedNetwork } from './cached.js';

const dealer = (id: string, active = true) => ({ id, oemId: 'o', active }) as unknown as StoredDealer;
const person = (id: string, dealerId: string) => ({ id, dealerId, oemId: 'o' }) as unknown as StoredStaff;

function fakeNetwork() {
  const calls = { loads: 0, tokens: 0 };
  let token = 't1';
  let dealers = [dealer('A'), dealer('B', false)];
  const repo = {
    listDealers: () => {
      calls.loads += 1;
      return Promise.resolve(dealers);
    },
    listAllTeams: () => Promise.resolve([]),
    listAllStaff: () => Promise.resolve([person('s1', 'A'), person('s2', 'B')]),
    networkToken: () => {
      calls.tokens += 1;
      return Promise.resolve(token);
    },
    upsert: () => Promise.resolve(),
  } as unknown as NetworkRepository;
  return {
    repo,
    calls,
    change(next: StoredDealer[], nextToken: string) {
      dealers = next;
      token = nextToken;
    },
  };
}

describe('cachedNetwork', () => {
  it('serves routing reads from one snapshot and checks only the token until it changes', async () => {
    let clock = 0;
    const fake = fakeNetwork();
    const cached = cachedNetwork(fake.repo, 1000, () => clock);
    expect((await cached.listDealers({ oemId: 'o', active: true })).map((d) => d.id)).toEqual(['A']);
    expect((await cached.findDealer('o', 'B'))?.id).toBe('B');
    expect((await cached.listStaff('o', 'A')).map((s) => s.id)).toEqual(['s1']);
    expect((await cached.findStaff('o', 's2'))?.dealerId).toBe('B');
    expect(fake.calls).toEqual({ loads: 1, tokens: 1 });

    clock = 1500; // expired, same token: no reload
    await cached.listDealers({ oemId: 'o', active: true });
    expect(fake.calls).toEqual({ loads: 1, tokens: 2 });

    fake.change([dealer('A'), dealer('B'), dealer('C')], 't2'); // another instance uploaded
    clock = 3000;
    expect((await cached.listDealers({ oemId: 'o', active: true })).map((d) => d.id)).toEqual([
      'A',
      'B',
      'C',
    ]);
    expect(fake.calls.loads).toBe(2);
  });

  it('drops the snapshot on this instance’s own upload, and passes other queries through', async () => {
    const fake = fakeNetwork();
    const cached = cachedNetwork(fake.repo, 60_000, () => 0);
    await cached.listDealers({ oemId: 'o', active: true });
    await cached.upsert('o', { dealers: [], teams: [], staff: [] }, new Date());
    await cached.listDealers({ oemId: 'o', active: true });
    expect(fake.calls.loads).toBe(2);
    await cached.listDealers({ oemId: 'o' }, { skip: 0, limit: 10 });
    expect(fake.calls.loads).toBe(3);
  });

  it('is the repository itself when the TTL is 0', () => {
    const fake = fakeNetwork();
    expect(cachedNetwork(fake.repo, 0)).toBe(fake.repo);
  });
});

describe('cachedDayCounts', () => {
  it('counts this instance’s offers locally between refreshes', async () => {
    let clock = 0;
    let reads = 0;
    const repo = {
      dealerDayCounts: () => {
        reads += 1;
        return Promise.resolve(new Map([['A', 3]]));
      },
      countOffer: () => Promise.resolve(),
    } as unknown as LoadRepository;
    const cached = cachedDayCounts(repo, 1000, () => clock);
    const days = new Map([
      ['A', '2025-01-01'],
      ['B', '2025-01-01'],
    ]);
    expect(await cached.dealerDayCounts('o', days)).toEqual(
      new Map([
        ['A', 3],
        ['B', 0],
      ]),
    );
    await cached.countOffer({ oemId: 'o', dealerId: 'B', day: '2025-01-01', opId: 'x' });
    expect(await cached.dealerDayCounts('o', days)).toEqual(
      new Map([
        ['A', 3],
        ['B', 1],
      ]),
    );
    expect(reads).toBe(1);
    // A new local day is a new key: read at once.
    await cached.dealerDayCounts('o', new Map([['A', '2025-01-02']]));
    expect(reads).toBe(2);
    clock = 5000;
    expect(await cached.dealerDayCounts('o', days)).toEqual(
      new Map([
        ['A', 3],
        ['B', 0],
      ]),
    );
    expect(reads).toBe(3);
  });
});
