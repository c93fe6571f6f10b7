import { describe, expect, it } from 'vitest';
import {
  haversineKm,
  normalisePlace,
  routeToDealer,
  type DealerCandidate,
  type DealerRoutingInput,
} from './dealer-routing.js';
import { DEFAULT_ROUTING_POLICY, type RoutingPolicy } from './routing-policy.js';

const SHANGHAI = { lat: 31.2304, lng: 121.4737 };

function dealer(id: string, overrides: Partial<DealerCandidate> = {}): DealerCandidate {
  return {
    id,
    province: '上海市',
    city: '上海市',
    brands: [],
    dailyCapacity: 10,
    assignedToday: 0,
    active: true,
    ...overrides,
  };
}

const lead = (overrides: Partial<DealerRoutingInput> = {}): DealerRoutingInput => ({
  province: '上海',
  city: '上海',
  excludedDealerIds: [],
  ...overrides,
});

const policy = (overrides: Partial<RoutingPolicy> = {}): RoutingPolicy => ({
  ...DEFAULT_ROUTING_POLICY,
  ...overrides,
});

function decided(result: ReturnType<typeof routeToDealer>) {
  if (!result.ok) throw new Error(`expected a dealer, got: ${result.reasons.join(' | ')}`);
  return result;
}

describe('routeToDealer: hard filters', () => {
  it('never offers to inactive dealers, decliners or dealers without the brand', () => {
    const result = routeToDealer(
      lead({ brand: 'Subaru', excludedDealerIds: ['d2'] }),
      [
        dealer('d1', { active: false }),
        dealer('d2'),
        dealer('d3', { brands: ['gwm'] }),
        dealer('d4', { brands: ['subaru'] }),
      ],
      policy(),
    );
    const ok = decided(result);
    expect(ok.dealerId).toBe('d4');
    expect(ok.strategy).toBe('only_candidate');
    expect(ok.considered).toEqual(['d4']);
    expect(ok.reasons).toContain('excluded decliners: d2');
  });

  it('reports no dealer when everyone is excluded', () => {
    const result = routeToDealer(
      lead({ excludedDealerIds: ['d1', 'd2'] }),
      [dealer('d1'), dealer('d2')],
      policy(),
    );
    expect(result.ok).toBe(false);
    expect(result.reasons).toContain('no eligible dealer');
  });

  it('reports no dealer for an empty network', () => {
    expect(routeToDealer(lead(), [], policy()).ok).toBe(false);
  });
});

describe('routeToDealer: customer choice', () => {
  it('honours the dealer the customer chose', () => {
    const ok = decided(
      routeToDealer(lead({ preferredDealerId: 'd2' }), [dealer('d1'), dealer('d2')], policy()),
    );
    expect(ok).toMatchObject({ dealerId: 'd2', strategy: 'customer_choice' });
    expect(ok.reasons).toContain('customer choice: d2');
  });

  it('keeps a showroom capture with its dealer even over the customer’s pick', () => {
    const ok = decided(
      routeToDealer(
        lead({ showroomDealerId: 'd1', preferredDealerId: 'd2' }),
        [dealer('d1'), dealer('d2')],
        policy(),
      ),
    );
    expect(ok.dealerId).toBe('d1');
  });

  it('skips a chosen dealer that declined and says why', () => {
    const ok = decided(
      routeToDealer(
        lead({ preferredDealerId: 'd1', excludedDealerIds: ['d1'] }),
        [dealer('d1'), dealer('d2'), dealer('d3', { assignedToday: 5 })],
        policy(),
      ),
    );
    expect(ok.dealerId).toBe('d2');
    expect(ok.reasons).toContain('customer choice d1 skipped: declined this lead');
  });

  it('skips a chosen dealer outside the network', () => {
    const ok = decided(
      routeToDealer(lead({ preferredDealerId: 'dx' }), [dealer('d1'), dealer('d2')], policy()),
    );
    expect(ok.reasons).toContain('customer choice dx skipped: not in this OEM’s network');
  });
});

describe('routeToDealer: continuity', () => {
  it('sends a returning customer back to their dealer', () => {
    const ok = decided(
      routeToDealer(lead({ previousDealerId: 'd2' }), [dealer('d1'), dealer('d2')], policy()),
    );
    expect(ok).toMatchObject({ dealerId: 'd2', strategy: 'continuity' });
  });
});

describe('routeToDealer: region', () => {
  const network = [
    dealer('sh1'),
    dealer('hz1', { province: '浙江省', city: '杭州市' }),
    dealer('nb1', { province: '浙江省', city: '宁波市' }),
  ];

  it('prefers the same city, ignoring the 市 suffix', () => {
    const ok = decided(routeToDealer(lead(), network, policy()));
    expect(ok).toMatchObject({ dealerId: 'sh1', strategy: 'region' });
  });

  it('falls back to the same province', () => {
    const ok = decided(
      routeToDealer(lead({ province: '浙江', city: '温州' }), network, policy({ dealerChain: ['region'] })),
    );
    expect(ok.considered).toEqual(['hz1', 'nb1', 'sh1']);
    expect(ok.reasons.some((r) => r.startsWith('region: same province 浙江'))).toBe(true);
    expect(['hz1', 'nb1']).toContain(ok.dealerId);
  });

  it('keeps everyone when nobody is in the region', () => {
    const ok = decided(
      routeToDealer(lead({ province: '四川', city: '成都' }), network, policy({ dealerChain: ['region'] })),
    );
    expect(ok.strategy).toBe('tie_break');
    expect(ok.reasons).toContain('region: no dealer in the lead’s city or province; region not applied');
  });

  it('notes an unknown region', () => {
    const ok = decided(
      routeToDealer({ excludedDealerIds: [] }, network, policy({ dealerChain: ['region'] })),
    );
    expect(ok.reasons).toContain('region: lead region unknown');
  });
});

describe('routeToDealer: distance', () => {
  const near = dealer('near', { location: { lat: 31.24, lng: 121.48 } });
  const mid = dealer('mid', { location: { lat: 31.3, lng: 121.5 } });
  const far = dealer('far', { location: { lat: 31.9, lng: 121.9 } });
  const unknown = dealer('nowhere');

  it('computes great-circle distances', () => {
    expect(haversineKm(SHANGHAI, { lat: 39.9042, lng: 116.4074 })).toBeGreaterThan(1000);
    expect(haversineKm(SHANGHAI, { lat: 39.9042, lng: 116.4074 })).toBeLessThan(1100);
    expect(haversineKm(SHANGHAI, SHANGHAI)).toBe(0);
  });

  it('keeps the nearest dealers within the tolerance, using the lead’s coordinates', () => {
    const ok = decided(
      routeToDealer(
        lead({ location: SHANGHAI }),
        [far, mid, near, unknown],
        policy({ dealerChain: ['distance'] }),
      ),
    );
    expect(ok.reasons.find((r) => r.startsWith('distance:'))).toMatch(/nearest near .*kept near .*mid/);
    expect(ok.reasons.find((r) => r.startsWith('distance:'))).not.toMatch(/far \(/);
    expect(ok.dealerId).toBe('mid'); // tie-break by id among near and mid
  });

  it('decides alone when the tolerance is zero', () => {
    const ok = decided(
      routeToDealer(lead(), [far, mid, near], policy({ dealerChain: ['distance'], distanceToleranceKm: 0 })),
    );
    expect(ok).toMatchObject({ dealerId: 'near', strategy: 'distance' });
  });

  it('uses the policy’s city coordinates when the lead has none', () => {
    const ok = decided(
      routeToDealer(lead({ city: '上海市' }), [far, near], policy({ dealerChain: ['distance'] })),
    );
    expect(ok.dealerId).toBe('near');
  });

  it('does nothing without a lead location', () => {
    const ok = decided(
      routeToDealer(lead({ city: '拉萨' }), [far, near], policy({ dealerChain: ['distance'] })),
    );
    expect(ok.reasons).toContain('distance: lead location unknown');
  });

  it('does nothing when no dealer has coordinates', () => {
    const ok = decided(
      routeToDealer(
        lead({ location: SHANGHAI }),
        [dealer('a'), dealer('b')],
        policy({ dealerChain: ['distance'] }),
      ),
    );
    expect(ok.reasons).toContain('distance: no candidate has coordinates');
  });
});

describe('routeToDealer: capacity', () => {
  it('skips dealers that are full today', () => {
    const ok = decided(
      routeToDealer(
        lead(),
        [dealer('a', { assignedToday: 10 }), dealer('b', { assignedToday: 3 })],
        policy({ dealerChain: ['capacity'] }),
      ),
    );
    expect(ok).toMatchObject({ dealerId: 'b', strategy: 'capacity' });
    expect(ok.reasons).toContain('capacity: skipped full a');
  });

  it('keeps everyone when all are full rather than lose the lead', () => {
    const ok = decided(
      routeToDealer(
        lead(),
        [dealer('a', { assignedToday: 12 }), dealer('b', { assignedToday: 10 })],
        policy({ dealerChain: ['capacity'] }),
      ),
    );
    expect(ok.dealerId).toBe('b');
    expect(ok.strategy).toBe('tie_break');
    expect(ok.reasons[ok.reasons.length - 2]).toMatch(/every candidate is full/);
  });
});

describe('routeToDealer: performance weighting', () => {
  it('gives the next lead to the lowest load per unit of performance', () => {
    const ok = decided(
      routeToDealer(
        lead(),
        [
          dealer('strong', { performance: 0.8, assignedToday: 3 }),
          dealer('weak', { performance: 0.2, assignedToday: 1 }),
        ],
        policy({ dealerChain: ['performance'] }),
      ),
    );
    // strong: 4 / 0.8 = 5, weak: 2 / 0.2 = 10
    expect(ok).toMatchObject({ dealerId: 'strong', strategy: 'performance' });
  });

  it('uses the default weight for unmeasured dealers and breaks ties by id', () => {
    const ok = decided(
      routeToDealer(lead(), [dealer('b'), dealer('a')], policy({ dealerChain: ['performance'] })),
    );
    expect(ok.dealerId).toBe('a');
  });

  it('spreads a day’s leads in proportion to performance', () => {
    const dealers = [dealer('x', { performance: 0.6 }), dealer('y', { performance: 0.3 })];
    const counts: Record<string, number> = { x: 0, y: 0 };
    for (let i = 0; i < 30; i++) {
      const ok = decided(
        routeToDealer(
          lead(),
          dealers.map((d) => ({ ...d, assignedToday: counts[d.id] ?? 0 })),
          policy({ dealerChain: ['performance'] }),
        ),
      );
      counts[ok.dealerId] = (counts[ok.dealerId] ?? 0) + 1;
    }
    expect(counts).toEqual({ x: 20, y: 10 });
  });
});

describe('routeToDealer: the default chain end to end', () => {
  it('narrows by region, distance and capacity, then weighs performance, explaining each step', () => {
    const ok = decided(
      routeToDealer(
        lead({ location: SHANGHAI }),
        [
          dealer('sh-a', { location: { lat: 31.23, lng: 121.47 }, assignedToday: 10 }),
          dealer('sh-b', { location: { lat: 31.25, lng: 121.49 }, performance: 0.4 }),
          dealer('sh-c', { location: { lat: 31.22, lng: 121.46 }, performance: 0.9 }),
          dealer('hz-a', { province: '浙江省', city: '杭州市' }),
        ],
        DEFAULT_ROUTING_POLICY,
      ),
    );
    expect(ok.dealerId).toBe('sh-c');
    expect(ok.strategy).toBe('performance');
    expect(ok.reasons.map((r) => r.split(':')[0])).toEqual([
      'candidates',
      'customer choice',
      'continuity',
      'region',
      'distance',
      'capacity',
      'performance',
    ]);
  });
});

describe('normalisePlace', () => {
  it('drops administrative suffixes, case and blanks', () => {
    expect(normalisePlace(' 上海市 ')).toBe('上海');
    expect(normalisePlace('浙江省')).toBe('浙江');
    expect(normalisePlace('Shanghai')).toBe('shanghai');
    expect(normalisePlace('  ')).toBeUndefined();
    expect(normalisePlace(undefined)).toBeUndefined();
  });
});
