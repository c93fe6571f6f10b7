import { Type, type SchemaOptions, type Static, type TLiteral, type TUnion } from '@sinclair/typebox';

/**
 * A TypeBox union of string literals built from an `as const` list, so the list stays the single source
 * of both the runtime check and the TypeScript union.
 */
export function literalUnion<const T extends readonly string[]>(
  values: T,
  options?: SchemaOptions,
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  );
}

// Ids are opaque strings produced by the owning service (UUIDs, ObjectIds, source-system ids). Bounding
// the length and forbidding whitespace keeps them safe as Kafka keys, Mongo keys and URL segments.
const idSchema = (description: string, maxLength = 100) =>
  Type.String({ minLength: 1, maxLength, pattern: '^\\S+$', description });

/** A lead, assigned by ingestion at intake and never changed afterwards. */
export const LeadId = idSchema('Lead id, assigned at intake.');
/**
 * A deterministic key per customer: the keyed hash of the normalised mobile, or a per-lead fallback
 * when no usable contact exists. Intake is partitioned by it so dedup for one customer is serialised.
 */
export const CustomerKey = idSchema('Customer key: keyed hash of the normalised contact.', 200);
/** The customer identity record owned by cleansing. */
export const CustomerId = idSchema('Customer id, owned by cleansing.');
export const OemId = idSchema('OEM (tenant) id.');
export const DealerId = idSchema('Dealer id.');
export const TeamId = idSchema('Team id inside a dealer (showroom, DCC, ...).');
export const AgentId = idSchema('Staff member (consultant, DCC agent, ...) id.');
export const SourceId = idSchema('Intake source id (an integrator, a form, an import).');
/** A user or machine principal that performed an action. */
export const PrincipalId = idSchema('Principal (user or machine) id.', 200);

export type LeadId = Static<typeof LeadId>;
export type CustomerKey = Static<typeof CustomerKey>;
export type CustomerId = Static<typeof CustomerId>;
export type OemId = Static<typeof OemId>;
export type DealerId = Static<typeof DealerId>;
export type TeamId = Static<typeof TeamId>;
export type AgentId = Static<typeof AgentId>;
export type SourceId = Static<typeof SourceId>;

/** ISO-8601 timestamp with offset (`2025-01-31T09:00:00.000Z`). */
export const Timestamp = Type.String({ format: 'date-time' });

/** Short free text (labels, notes from staff). */
export const ShortText = (maxLength = 200) => Type.String({ maxLength });

// ---------------------------------------------------------------------------------------------------
// Channels: three levels, L1 OEM vs dealer, L2 the channel type, L3 the concrete site/campaign/event.

export const ChannelL1s = ['oem', 'dealer'] as const;
export type ChannelL1 = (typeof ChannelL1s)[number];

export const ChannelL2s = [
  'official_site',
  'vertical_media',
  'social',
  'call_centre',
  'auto_show',
  'e_commerce',
  'app',
  'dealer_site',
  'dealer_event',
  'showroom_call',
  'walk_in',
  'aftersales_referral',
  'installed_base',
  'import',
] as const;
export type ChannelL2 = (typeof ChannelL2s)[number];

/**
 * Where a lead came from. Immutable once the lead is received: channel attribution and ROI reporting
 * depend on it never being rewritten.
 */
export const ChannelRef = Type.Object(
  {
    l1: literalUnion(ChannelL1s),
    l2: literalUnion(ChannelL2s),
    /** The concrete site, campaign or event, as configured in ingestion's channel taxonomy. */
    l3: idSchema('L3 channel id (site, campaign or event).'),
  },
  { additionalProperties: false },
);
export type ChannelRef = Static<typeof ChannelRef>;

// ---------------------------------------------------------------------------------------------------
// Grades are data (per-brand dictionaries), so the contract only bounds the code's shape.

export const GradeCode = Type.String({
  minLength: 1,
  maxLength: 16,
  pattern: '^[A-Za-z0-9_]+$',
  description: 'Grade code from the brand grade dictionary (H, A, B, C, O, N, ...).',
});
export type GradeCode = Static<typeof GradeCode>;

// ---------------------------------------------------------------------------------------------------
// Roles

/** Every role a principal can hold. */
export const Roles = [
  'oem_admin',
  'oem_operator',
  'oem_call_center',
  'dealer_admin',
  'dealer_manager',
  'dcc_manager',
  'dcc_supervisor',
  'dcc_agent',
  'showroom_consultant',
  'receptionist',
  'integrator',
  'source',
  'system',
] as const;
export type Role = (typeof Roles)[number];
export const RoleSchema = literalUnion(Roles);

/** Who did something: recorded on every human-triggered event so audits and overrides are explainable. */
export const Actor = Type.Object(
  {
    id: PrincipalId,
    role: RoleSchema,
  },
  { additionalProperties: false },
);
export type Actor = Static<typeof Actor>;

// ---------------------------------------------------------------------------------------------------
// Lead lifecycle

/**
 * The unified lead status (requirements §5.1). Flags such as duplicate/grabbed/reactivated are
 * {@link LeadMarkers}, not statuses; a test drive is an activity, not a status.
 */
export const LeadStatuses = [
  'new',
  'invalid',
  'merged',
  'qualified',
  'nurturing',
  'dispatched',
  'pending_first_follow_up',
  'pending_re_follow_up',
  'invited',
  'arrived',
  'ordered',
  'won',
  'defeat_requested',
  'defeated',
  'lost_contact',
  'archived',
] as const;
export type LeadStatus = (typeof LeadStatuses)[number];
export const LeadStatusSchema = literalUnion(LeadStatuses);

/** Statuses from which a new lead for the same customer is a reactivation (激), not a duplicate (重). */
export const ClosedLeadStatuses = [
  'invalid',
  'defeated',
  'archived',
] as const satisfies readonly LeadStatus[];

/** Lead background markers: 重 duplicate, 抢 grabbed from the public pool, 激 reactivated. */
export const LeadMarkers = ['duplicate', 'grabbed', 'reactivated'] as const;
export type LeadMarker = (typeof LeadMarkers)[number];
export const LeadMarkerSchema = literalUnion(LeadMarkers);

/** Where inside a dealer a lead is worked (the Chevrolet rule: H/A showroom, B/C/F and campaigns DCC). */
export const WorkQueues = ['showroom', 'dcc'] as const;
export type WorkQueue = (typeof WorkQueues)[number];
export const WorkQueueSchema = literalUnion(WorkQueues);

// ---------------------------------------------------------------------------------------------------
// Reasons

/**
 * Defeat (战败) reasons. `bought_competitor` is mandatory as the primary reason whenever the customer
 * bought another brand (GWM rule); see {@link defeatReasonProblems}.
 */
export const DefeatReasons = [
  'bought_competitor',
  'bought_elsewhere_same_brand',
  'price',
  'financing',
  'postponed',
  'lost_contact',
  'product_mismatch',
  'delivery_time',
  'trade_in',
  'service_experience',
  'no_longer_interested',
  'other',
] as const;
export type DefeatReason = (typeof DefeatReasons)[number];
export const DefeatReasonSchema = literalUnion(DefeatReasons);

/** A defeat request's reasoning: a primary reason, optional sub-reason and the competitor bought. */
export const DefeatDetail = Type.Object(
  {
    reason: DefeatReasonSchema,
    subReason: Type.Optional(ShortText(100)),
    competitorBrand: Type.Optional(ShortText(100)),
    competitorModel: Type.Optional(ShortText(100)),
    /** What went wrong in the process, required by the GWM rulebook for every defeat. */
    description: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);
export type DefeatDetail = Static<typeof DefeatDetail>;

/**
 * Cross-field rules a JSON schema cannot express. Returns human-readable problems, empty when valid.
 */
export function defeatReasonProblems(detail: DefeatDetail): string[] {
  const problems: string[] = [];
  if (detail.competitorBrand !== undefined && detail.reason !== 'bought_competitor') {
    problems.push('reason must be "bought_competitor" when the customer bought another brand');
  }
  if (detail.reason === 'bought_competitor' && detail.competitorBrand === undefined) {
    problems.push('competitorBrand is required when the reason is "bought_competitor"');
  }
  return problems;
}

/** Why cleansing (or later a person) declared a lead invalid (无效). */
export const InvalidReasons = [
  'no_contact',
  'malformed_mobile',
  'malformed_contact',
  'no_intent',
  'test_or_spam',
  'blocked_contact',
  'out_of_network',
  'other',
] as const;
export type InvalidReason = (typeof InvalidReasons)[number];
export const InvalidReasonSchema = literalUnion(InvalidReasons);

// ---------------------------------------------------------------------------------------------------
// Personal data

/**
 * A masked mobile keeps the prefix and the last four digits (`138****5678`, `+86138****5678`). The
 * pattern demands the asterisks, so a clear number can never validate as masked.
 */
export const MaskedMobile = Type.String({ maxLength: 24, pattern: '^\\+?[0-9]*\\*{2,}[0-9]{0,4}$' });
/** `z***@example.com`, or `***` when the input was not an address. */
export const MaskedEmail = Type.String({ maxLength: 254, pattern: '^([^@\\s]\\*{3}@[^@\\s]+|\\*{3})$' });

/** Contact details with every value masked: safe for logs, work lists and public events. */
export const MaskedContact = Type.Object(
  {
    mobileMasked: Type.Optional(MaskedMobile),
    emailMasked: Type.Optional(MaskedEmail),
    phoneMasked: Type.Optional(MaskedMobile),
  },
  { additionalProperties: false },
);
export type MaskedContact = Static<typeof MaskedContact>;

/** Mainland-China regions; `adcode` is the 6-digit administrative division code when known. */
export const Region = Type.Object(
  {
    province: Type.Optional(ShortText(50)),
    city: Type.Optional(ShortText(50)),
    adcode: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
  },
  { additionalProperties: false },
);
export type Region = Static<typeof Region>;

/** What the customer wants, as far as it is known. Carried forward so scoring and routing need no lookups. */
export const Intent = Type.Object(
  {
    brand: Type.Optional(ShortText(50)),
    series: Type.Optional(ShortText(100)),
    model: Type.Optional(ShortText(100)),
    /** Purchase timeframe: the customer's words ("三个月内") or a number of days. */
    timeframe: Type.Optional(Type.Union([ShortText(100), Type.Integer({ minimum: 0, maximum: 3650 })])),
    /** Budget: the customer's words ("15-20万") or an amount in CNY. */
    budget: Type.Optional(Type.Union([ShortText(100), Type.Number({ minimum: 0 })])),
    testDrive: Type.Optional(Type.Boolean()),
    tradeIn: Type.Optional(Type.Boolean()),
    preferredDealerId: Type.Optional(DealerId),
    message: Type.Optional(ShortText(2000)),
  },
  { additionalProperties: false },
);
export type Intent = Static<typeof Intent>;

export const Genders = ['male', 'female', 'unknown'] as const;
export type Gender = (typeof Genders)[number];
export const GenderSchema = literalUnion(Genders);

/** Marketing consent captured with the lead; nurturing honours it and opt-outs. */
export const Consent = Type.Object(
  {
    marketing: Type.Boolean(),
    capturedAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type Consent = Static<typeof Consent>;
