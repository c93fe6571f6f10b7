import { ChannelL1s, ChannelL2s, literalUnion } from '@leadflow/contracts/common';
import { Type, type Static } from '@sinclair/typebox';

/**
 * OEM → dealer strategies, applied in the order an OEM's policy lists them. Each one narrows the
 * candidate dealers; the first that leaves exactly one decides. Dealers that are inactive, do not sell
 * the lead's brand, or already declined the lead are removed before the chain runs: "never re-offer to
 * a dealer that declined" is a rule, not a preference an OEM may reorder.
 */
export const DealerStrategies = [
  'customer_choice',
  'continuity',
  'region',
  'distance',
  'capacity',
  'performance',
] as const;
export type DealerStrategy = (typeof DealerStrategies)[number];

const LatLng = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lng: Type.Number({ minimum: -180, maximum: 180 }),
  },
  { additionalProperties: false },
);
export type LatLng = Static<typeof LatLng>;
export const LatLngSchema = LatLng;

/** Channels whose leads are OEM campaign leads (Chevrolet: HQ/CEM-issued leads go to the DCC). */
const ChannelMatch = Type.Object(
  {
    l1: literalUnion(ChannelL1s),
    l2: Type.Optional(literalUnion(ChannelL2s)),
    l3: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type ChannelMatch = Static<typeof ChannelMatch>;

/**
 * The seeds name the pool and the 抢 marker but give no rules [GAP]; these are the decisions, as data.
 */
export const PoolRulesSchema = Type.Object(
  {
    /** Leads one agent may grab per local day of the dealer. */
    grabCapPerDay: Type.Integer({ minimum: 0, maximum: 1000 }),
    /**
     * Return-to-pool: an agent who has not made the first follow-up this many hours after getting the
     * lead loses it to the pool (0 = never). Longer than the first-contact SLA plus its grace, so
     * nurturing's SLA reassignment acts first.
     */
    returnAfterHours: Type.Number({ minimum: 0, maximum: 24 * 90 }),
  },
  { additionalProperties: false },
);
export type PoolRules = Static<typeof PoolRulesSchema>;

export const DEFAULT_POOL_RULES: PoolRules = { grabCapPerDay: 5, returnAfterHours: 72 };

/**
 * One OEM's routing rules as data, validated by this schema when an OEM admin stores them. The same
 * document drives both levels: OEM → dealer and inside the dealer.
 */
export const RoutingPolicySchema = Type.Object(
  {
    dealerChain: Type.Array(literalUnion(DealerStrategies), { minItems: 1, maxItems: 6, uniqueItems: true }),
    /** `distance` keeps every dealer within this many km of the nearest one, for later strategies to weigh. */
    distanceToleranceKm: Type.Number({ minimum: 0, maximum: 1000 }),
    /** Known coordinates by city name, used when the lead itself carries none. */
    places: Type.Record(Type.String({ minLength: 1, maxLength: 50 }), LatLng, { maxProperties: 2000 }),
    /** Performance weight for dealers with no score yet (0–1). */
    defaultPerformance: Type.Number({ minimum: 0, maximum: 1 }),
    /** Grades the showroom consultants work; every other grade goes to the DCC (Chevrolet rule). */
    showroomGrades: Type.Array(Type.String({ minLength: 1, maxLength: 16 }), {
      maxItems: 20,
      uniqueItems: true,
    }),
    /** OEM campaign channels: their leads go to the DCC whatever the grade. */
    dccChannels: Type.Array(ChannelMatch, { maxItems: 50 }),
    /** When the preferred queue has nobody, use the other queue rather than leave the lead to the manager. */
    fallbackToOtherQueue: Type.Boolean(),
    /** How long a dealer has to accept an offer before it passes to the next dealer (a dealer may override). */
    acceptWithinMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }),
    /**
     * The dealer's public pool (线索池, 抢). Optional so policies stored before it existed stay valid;
     * `poolRules(policy)` fills the defaults.
     */
    pool: Type.Optional(PoolRulesSchema),
  },
  { additionalProperties: false },
);
export type RoutingPolicy = Static<typeof RoutingPolicySchema>;

/** The pool rules of a policy, defaults filled in. */
export function poolRules(policy: Pick<RoutingPolicy, 'pool'>): PoolRules {
  return { ...DEFAULT_POOL_RULES, ...policy.pool };
}

/**
 * The default when an OEM stored none: the order of the architecture's routing decision, with the
 * returning customer's dealer right after the customer's own choice.
 */
export const DEFAULT_ROUTING_POLICY: RoutingPolicy = {
  dealerChain: ['customer_choice', 'continuity', 'region', 'distance', 'capacity', 'performance'],
  distanceToleranceKm: 15,
  places: {
    上海: { lat: 31.2304, lng: 121.4737 },
    北京: { lat: 39.9042, lng: 116.4074 },
    广州: { lat: 23.1291, lng: 113.2644 },
    深圳: { lat: 22.5431, lng: 114.0579 },
    杭州: { lat: 30.2741, lng: 120.1551 },
    苏州: { lat: 31.2989, lng: 120.5853 },
    南京: { lat: 32.0603, lng: 118.7969 },
    成都: { lat: 30.5728, lng: 104.0668 },
    武汉: { lat: 30.5928, lng: 114.3055 },
    天津: { lat: 39.3434, lng: 117.3616 },
  },
  defaultPerformance: 0.5,
  showroomGrades: ['H', 'A'],
  dccChannels: [
    { l1: 'oem', l2: 'call_centre' },
    { l1: 'oem', l2: 'official_site' },
  ],
  fallbackToOtherQueue: true,
  acceptWithinMinutes: 120,
};
