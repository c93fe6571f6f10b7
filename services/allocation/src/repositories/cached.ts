import type { LoadRepository } from './load.repository.js';
import type { NetworkRepository, StoredDealer, StoredStaff, StoredTeam } from './network.repository.js';
import type { RoutingPolicyRepository } from './routing-policy.repository.js';

/*
 * Read-through caches in front of the repositories routing reads on every lead. Profiling the consumer
 * path (bench/allocation.ts) showed each decision re-reading all 500 dealers (~0.9 s on the loaded
 * FerretDB), the chosen dealer's teams and staff, the policy and 500 day counters; the network changes
 * a few times a day.
 * The network snapshot is checked against the OEM's network token every `ttlMs` and reloaded only
 * after an upload; this instance's own uploads invalidate it at once, other instances' are seen within
 * `ttlMs`. Daily-capacity counts are refreshed as often and counted locally in
 * between, so a dealer can overshoot its capacity by at most what other instances offered it in one
 * `ttlMs` (capacity is a routing preference, not a hard limit: a full network still gets its leads).
 */
export function cachedNetwork(
  repo: NetworkRepository,
  ttlMs: number,
  now: () => number = Date.now,
): NetworkRepository {
  if (ttlMs <= 0) return repo;
  interface Snapshot {
    token: string;
    checkedAt: number;
    active: StoredDealer[];
    dealers: Map<string, StoredDealer>;
    teams: Map<string, StoredTeam[]>;
    staff: Map<string, StoredStaff[]>;
  }
  const snapshots = new Map<string, Snapshot>();
  const loading = new Map<string, Promise<Snapshot>>();
  // Bumped by this instance's uploads: a load started before one must not install its older result.
  const generations = new Map<string, number>();
  // The whole OEM in one snapshot: FerretDB answers "the staff of one dealer" by scanning every staff
  // document, so one read of all of them beats one read per dealer by far.
  const load = (oemId: string, token: string): Promise<Snapshot> => {
    const running = loading.get(oemId);
    if (running !== undefined) return running;
    const generation = generations.get(oemId) ?? 0;
    const started = (async () => {
      const [dealers, teams, staff] = await Promise.all([
        repo.listDealers({ oemId }),
        repo.listAllTeams(oemId),
        repo.listAllStaff(oemId),
      ]);
      const snapshot: Snapshot = {
        token,
        checkedAt: now(),
        active: dealers.filter((d) => d.active),
        dealers: new Map(dealers.map((d) => [d.id, d])),
        teams: group(teams),
        staff: group(staff),
      };
      if ((generations.get(oemId) ?? 0) === generation) snapshots.set(oemId, snapshot);
      return snapshot;
    })().finally(() => {
      if (loading.get(oemId) === started) loading.delete(oemId);
    });
    loading.set(oemId, started);
    return started;
  };
  const snapshot = async (oemId: string): Promise<Snapshot> => {
    const cached = snapshots.get(oemId);
    if (cached !== undefined && now() - cached.checkedAt < ttlMs) return cached;
    // Every ttlMs one cheap token read; the network itself is read again only after an upload.
    const token = await repo.networkToken(oemId);
    if (cached !== undefined && cached.token === token) {
      cached.checkedAt = now();
      return cached;
    }
    return load(oemId, token);
  };

  return {
    ...repo,
    async upsert(oemId, network, at) {
      try {
        await repo.upsert(oemId, network, at);
      } finally {
        generations.set(oemId, (generations.get(oemId) ?? 0) + 1);
        snapshots.delete(oemId);
        loading.delete(oemId);
      }
    },
    async listDealers(filter, page) {
      const keys = Object.keys(filter);
      const routing =
        page === undefined && keys.length === 2 && filter.active === true && keys.includes('oemId');
      if (!routing) return repo.listDealers(filter, page);
      return (await snapshot(filter.oemId)).active;
    },
    findDealer: async (oemId, dealerId) => (await snapshot(oemId)).dealers.get(dealerId) ?? null,
    listTeams: async (oemId, dealerId) => (await snapshot(oemId)).teams.get(dealerId) ?? [],
    listStaff: async (oemId, dealerId) => (await snapshot(oemId)).staff.get(dealerId) ?? [],
    findStaff: async (oemId, staffId) => {
      for (const people of (await snapshot(oemId)).staff.values()) {
        const found = people.find((p) => p.id === staffId);
        if (found !== undefined) return found;
      }
      return null;
    },
  };
}

function group<T extends { dealerId: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.dealerId) ?? [];
    list.push(item);
    out.set(item.dealerId, list);
  }
  return out;
}

export function cachedPolicies(
  repo: RoutingPolicyRepository,
  ttlMs: number,
  now: () => number = Date.now,
): RoutingPolicyRepository {
  if (ttlMs <= 0) return repo;
  const entries = new Map<string, { at: number; value: ReturnType<RoutingPolicyRepository['get']> }>();
  return {
    ...repo,
    get(oemId) {
      const entry = entries.get(oemId);
      if (entry !== undefined && now() - entry.at < ttlMs) return entry.value;
      const value = repo.get(oemId);
      entries.set(oemId, { at: now(), value });
      value.catch(() => entries.delete(oemId));
      return value;
    },
    async put(...args) {
      try {
        return await repo.put(...args);
      } finally {
        entries.delete(args[0]);
      }
    },
  };
}

export function cachedDayCounts(
  repo: LoadRepository,
  ttlMs: number,
  now: () => number = Date.now,
): LoadRepository {
  if (ttlMs <= 0) return repo;
  // oemId → dealerId:day → count, refreshed from the database every ttlMs.
  const counts = new Map<string, { at: number; byDay: Map<string, number> }>();
  const counted = (input: { oemId: string; dealerId: string; day: string }) => {
    const byDay = counts.get(input.oemId)?.byDay;
    const key = `${input.dealerId}:${input.day}`;
    if (byDay?.has(key) === true) byDay.set(key, (byDay.get(key) ?? 0) + 1);
  };
  return {
    ...repo,
    async dealerDayCounts(oemId, days) {
      let entry = counts.get(oemId);
      const missing = [...days].some(([dealerId, day]) => !entry?.byDay.has(`${dealerId}:${day}`));
      if (entry === undefined || now() - entry.at >= ttlMs || missing) {
        const fresh = await repo.dealerDayCounts(oemId, days);
        const byDay = new Map(
          [...days].map(([dealerId, day]) => [`${dealerId}:${day}`, fresh.get(dealerId) ?? 0]),
        );
        entry = { at: now(), byDay };
        counts.set(oemId, entry);
      }
      const byDay = entry.byDay;
      return new Map([...days].map(([dealerId, day]) => [dealerId, byDay.get(`${dealerId}:${day}`) ?? 0]));
    },
    async countOffer(input) {
      await repo.countOffer(input);
      counted(input);
    },
    async countOffers(inputs) {
      await repo.countOffers(inputs);
      for (const input of inputs) counted(input);
    },
  };
}
