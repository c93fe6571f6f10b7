import { Type, type TProperties } from '@sinclair/typebox';
import {
  Actor,
  AgentId,
  ChannelRef,
  Consent,
  CustomerId,
  CustomerKey,
  DealerId,
  DefeatDetail,
  DefeatReasonSchema,
  GenderSchema,
  GradeCode,
  Intent,
  InvalidReasonSchema,
  LeadId,
  LeadMarkerSchema,
  MaskedEmail,
  MaskedMobile,
  PrincipalId,
  Region,
  ShortText,
  SourceId,
  TeamId,
  Timestamp,
  WorkQueueSchema,
  literalUnion,
} from './common.js';

// Payload schemas of the event catalogue (events.ts). Every payload is strict (no unknown properties) so
// a typo or a stray personal field is caught at the producer by makeEnvelope. Adding an optional field is
// compatible within a version as long as the contracts change reaches consumers before producers use it.

const strict = <T extends TProperties>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });

const Id = (maxLength = 100) => Type.String({ minLength: 1, maxLength, pattern: '^\\S+$' });

// ---------------------------------------------------------------------------------------------------
// Shared payload parts

/** Contact as received, in clear. Only ever on internal topics; the public stream never carries it. */
export const ReceivedCustomer = strict(
  {
    name: Type.Optional(ShortText(100)),
    mobile: Type.Optional(ShortText(32)),
    email: Type.Optional(ShortText(254)),
    phone: Type.Optional(ShortText(32)),
    province: Type.Optional(ShortText(50)),
    city: Type.Optional(ShortText(50)),
    gender: Type.Optional(GenderSchema),
  },
  'Customer details exactly as the source sent them (not yet validated).',
);

/** A walk-in or showroom call captured by dealer staff: the lead stays with that dealer. */
export const ShowroomCapture = strict(
  {
    dealerId: DealerId,
    capturedBy: Type.Optional(AgentId),
    arrivedAt: Type.Optional(Timestamp),
    departedAt: Type.Optional(Timestamp),
    /** Walk-in info source (phone, newspaper, radio, magazine, friends, passing by, other). */
    infoSource: Type.Optional(ShortText(50)),
  },
  'Showroom capture details for walk-ins and showroom calls.',
);

/**
 * Normalised contact. Services only talk over Kafka, so internal topics carry the E.164 mobile for the
 * ones that must reach the customer (SMS); hashes are for matching, masked forms for display and logs.
 */
export const NormalisedContact = strict(
  {
    mobileE164: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' })),
    mobileHash: Type.Optional(Id(200)),
    mobileMasked: Type.Optional(MaskedMobile),
    email: Type.Optional(ShortText(254)),
    emailHash: Type.Optional(Id(200)),
    emailMasked: Type.Optional(MaskedEmail),
    phone: Type.Optional(ShortText(32)),
    phoneHash: Type.Optional(Id(200)),
    phoneMasked: Type.Optional(MaskedMobile),
  },
  'Normalised contact with keyed hashes and masked forms.',
);

const CleansedCustomer = strict(
  {
    name: Type.Optional(ShortText(100)),
    gender: Type.Optional(GenderSchema),
  },
  'Customer details kept after cleansing.',
);

const SlaPolicyRef = strict(
  {
    id: Id(),
    firstContactMinutes: Type.Integer({ minimum: 1 }),
    /** True when the deadline counts only the dealer calendar's business hours. */
    businessTime: Type.Boolean(),
    reminderAtPct: Type.Integer({ minimum: 1, maximum: 100 }),
    graceMinutes: Type.Integer({ minimum: 0 }),
  },
  'The first-contact SLA policy chosen for the lead by channel and grade.',
);

const ScoreFactor = strict(
  {
    factor: Id(),
    weight: Type.Number(),
    contribution: Type.Number(),
    explanation: ShortText(500),
  },
  'One factor of a score, so the grade can be explained.',
);

const GradeDictionaryRef = strict(
  { brand: Id(50), version: Type.Integer({ minimum: 1 }) },
  'The grade dictionary (per brand, versioned) the grade comes from.',
);

const Reasons = Type.Array(ShortText(500), { maxItems: 50, description: 'Why, one line per step.' });

const AppointmentKinds = ['visit', 'test_drive', 'delivery', 'event'] as const;
const MessageChannels = ['sms', 'email', 'wechat', 'call'] as const;
const SlaMilestones = ['first_contact', 'follow_up', 'accept'] as const;

// ---------------------------------------------------------------------------------------------------
// Intake (ingestion)

export const LeadReceived = strict(
  {
    leadId: LeadId,
    sourceId: SourceId,
    channel: ChannelRef,
    receivedAt: Timestamp,
    /** The source's own id for the lead, for idempotent intake and status feedback. */
    externalId: Type.Optional(Id(200)),
    importJobId: Type.Optional(Id()),
    customer: ReceivedCustomer,
    customerKey: CustomerKey,
    intent: Intent,
    showroom: Type.Optional(ShowroomCapture),
    consent: Type.Optional(Consent),
    /** Source fields the taxonomy does not map, kept for audit and later mapping. */
    raw: Type.Record(Type.String(), Type.Unknown(), { maxProperties: 200 }),
    /**
     * The L3 channel's cost per lead (CNY) in ingestion's channel taxonomy when the lead arrived:
     * what the media charged for this lead, summed by reporting for media ROI (cost per lead, per
     * valid lead, per deal). Absent when the channel has no cost configured.
     */
    channelCostCny: Type.Optional(Type.Number({ minimum: 0, maximum: 1_000_000 })),
  },
  'A lead as received from a channel, before any validation of its content.',
);

// ---------------------------------------------------------------------------------------------------
// Cleansing

const cleansedProperties = {
  leadId: LeadId,
  customerId: CustomerId,
  customerKey: CustomerKey,
  sourceId: SourceId,
  channel: ChannelRef,
  receivedAt: Timestamp,
  customer: CleansedCustomer,
  contact: NormalisedContact,
  region: Region,
  intent: Intent,
  markers: Type.Array(LeadMarkerSchema, { uniqueItems: true, maxItems: 3 }),
  showroom: Type.Optional(ShowroomCapture),
  consent: Type.Optional(Consent),
  /** The dedup rule set version that decided. */
  dedupRuleId: Type.Optional(Id()),
};

export const LeadCleansed = strict(
  {
    ...cleansedProperties,
    reactivatedFrom: Type.Optional(LeadId),
  },
  'A valid new lead in the pool: contact normalised, identity resolved, no open lead for the customer.',
);

export const LeadDuplicated = strict(
  {
    /** The new touchpoint, merged and not worked on its own. */
    leadId: LeadId,
    /** The open lead the touchpoint was merged into; it keeps its owner (ownership protection). */
    openLeadId: LeadId,
    customerId: CustomerId,
    customerKey: CustomerKey,
    sourceId: SourceId,
    /** The channel credited with the duplicate touchpoint. */
    channel: ChannelRef,
    receivedAt: Timestamp,
    matchedOn: literalUnion(['mobile', 'email', 'phone'] as const),
    dedupRuleId: Type.Optional(Id()),
    dealerId: Type.Optional(DealerId),
    agentId: Type.Optional(AgentId),
    intent: Type.Optional(Intent),
  },
  'A lead matched an open lead and was merged into it as a touchpoint (重). Keyed by openLeadId.',
);

export const LeadInvalidated = strict(
  {
    leadId: LeadId,
    customerKey: Type.Optional(CustomerKey),
    sourceId: Type.Optional(SourceId),
    channel: ChannelRef,
    receivedAt: Timestamp,
    reason: InvalidReasonSchema,
    ruleId: Id(),
    detail: Type.Optional(ShortText(500)),
    dealerId: Type.Optional(DealerId),
    /** Set when a person (not the cleansing rules) declared the lead invalid. */
    actor: Type.Optional(Actor),
  },
  'A lead is invalid (无效): no contact, malformed contact, no intent, ...',
);

export const LeadReactivated = strict(
  {
    ...cleansedProperties,
    reactivatedFrom: LeadId,
    previousStatus: literalUnion(['invalid', 'defeated', 'archived'] as const),
  },
  'A new lead for a customer whose earlier leads are all closed, linked to the history (激). Emitted instead of lead.cleansed.',
);

// ---------------------------------------------------------------------------------------------------
// Scoring

const scoredProperties = {
  leadId: LeadId,
  customerId: CustomerId,
  customerKey: CustomerKey,
  grade: GradeCode,
  score: Type.Number({ minimum: 0, maximum: 100 }),
  factors: Type.Array(ScoreFactor, { maxItems: 50 }),
  dictionary: GradeDictionaryRef,
  purchaseWindowDays: Type.Optional(Type.Integer({ minimum: 0 })),
  followUpIntervalDays: Type.Integer({ minimum: 1 }),
  slaPolicy: SlaPolicyRef,
  /** Why this grade, one line per step ("en / zh-CN"): dictionary, timeframe, requirements, SLA, trigger. */
  reasons: Type.Optional(Reasons),
  // Routing inputs travel with the grade so allocation decides from this event alone.
  channel: ChannelRef,
  region: Region,
  intent: Intent,
  markers: Type.Array(LeadMarkerSchema, { uniqueItems: true, maxItems: 3 }),
  showroomDealerId: Type.Optional(DealerId),
  receivedAt: Timestamp,
};

export const LeadScored = strict(scoredProperties, 'A lead received its first grade, with the explanation.');

export const LeadRegraded = strict(
  {
    ...scoredProperties,
    previousGrade: GradeCode,
    /** The event type that carried the new information (e.g. lead.followed_up). */
    trigger: Id(),
    dealerId: Type.Optional(DealerId),
    agentId: Type.Optional(AgentId),
    actor: Type.Optional(Actor),
  },
  'A lead was graded again after new intent (a follow-up, a reverification, a manual override).',
);

// ---------------------------------------------------------------------------------------------------
// Allocation

const assignmentProperties = {
  leadId: LeadId,
  dealerId: DealerId,
  teamId: Type.Optional(TeamId),
  agentId: Type.Optional(AgentId),
  queue: Type.Optional(WorkQueueSchema),
};

export const LeadAllocated = strict(
  {
    ...assignmentProperties,
    /** 1 for the first offer, +1 for each dealer that declined or timed out before. */
    attempt: Type.Integer({ minimum: 1 }),
    strategy: Id(),
    reasons: Reasons,
    /** The dealer loses the lead to the next one if it has not accepted by then. */
    acceptBy: Type.Optional(Timestamp),
    /** Immutable allocation time. */
    allocatedAt: Timestamp,
    customerId: CustomerId,
    channel: ChannelRef,
    grade: GradeCode,
    followUpIntervalDays: Type.Integer({ minimum: 1 }),
    slaPolicy: SlaPolicyRef,
    /** Set when a supervisor overrode the routing decision. */
    actor: Type.Optional(Actor),
  },
  'A lead was offered to a dealer (and possibly a team and agent inside it).',
);

export const ReassignmentReasons = [
  'accept_timeout',
  'declined',
  'sla_breach',
  'defeat_rescue',
  'scheduled_transfer',
  'lost_contact',
  'supervisor_override',
  'agent_unavailable',
  'other',
] as const;

export const LeadReassigned = strict(
  {
    ...assignmentProperties,
    fromDealerId: Type.Optional(DealerId),
    fromAgentId: Type.Optional(AgentId),
    attempt: Type.Integer({ minimum: 1 }),
    reason: literalUnion(ReassignmentReasons),
    reasons: Reasons,
    acceptBy: Type.Optional(Timestamp),
    reassignedAt: Timestamp,
    grade: Type.Optional(GradeCode),
    actor: Type.Optional(Actor),
  },
  'Ownership moved to another dealer or agent (timeout, decline, SLA breach, rescue, override).',
);

export const LeadDeclined = strict(
  {
    leadId: LeadId,
    dealerId: DealerId,
    agentId: Type.Optional(AgentId),
    attempt: Type.Integer({ minimum: 1 }),
    reason: literalUnion(['accept_timeout', 'capacity', 'out_of_area', 'duplicate', 'other'] as const),
    note: Type.Optional(ShortText(500)),
    declinedAt: Timestamp,
    actor: Type.Optional(Actor),
  },
  'A dealer declined an offered lead (or let it time out); it is never re-offered to that dealer.',
);

export const LeadGrabbed = strict(
  {
    ...assignmentProperties,
    grabbedAt: Timestamp,
    actor: Actor,
  },
  'A dealer or agent took a lead from the public pool (抢).',
);

export const LeadTransferred = strict(
  {
    ...assignmentProperties,
    fromDealerId: DealerId,
    fromAgentId: Type.Optional(AgentId),
    fromQueue: Type.Optional(WorkQueueSchema),
    reason: literalUnion([
      'daily_low_grade',
      'no_deal_timeout',
      'month_end',
      'follow_up_overdue',
      'manual',
    ] as const),
    transferredAt: Timestamp,
    actor: Type.Optional(Actor),
  },
  'A lead moved between queues or people inside the dealer network (e.g. showroom B/C/F to DCC at 09:00).',
);

// ---------------------------------------------------------------------------------------------------
// Lifecycle (nurturing)

const ownerProperties = {
  leadId: LeadId,
  dealerId: DealerId,
  agentId: Type.Optional(AgentId),
};

const actedProperties = { ...ownerProperties, actor: Actor };

export const LeadLifecycleStarted = strict(
  {
    ...ownerProperties,
    workflowId: Id(200),
    grade: GradeCode,
    slaPolicyId: Id(),
    firstContactDueAt: Timestamp,
    followUpIntervalDays: Type.Integer({ minimum: 1 }),
  },
  "The lead's lifecycle workflow started (or restarted after a reassignment).",
);

export const LeadFollowedUp = strict(
  {
    ...actedProperties,
    method: literalUnion(['phone', 'sms', 'wechat', 'email', 'visit', 'other'] as const),
    outcome: literalUnion([
      'connected',
      'no_answer',
      'busy',
      'wrong_number',
      'refused',
      'callback_requested',
      'invited',
    ] as const),
    /** The first follow-up of the lead: the one the first-contact SLA and KPIs count. */
    first: Type.Boolean(),
    contactedAt: Timestamp,
    nextFollowUpAt: Type.Optional(Timestamp),
    purpose: Type.Optional(literalUnion(['test_drive_invitation', 'event', 'materials', 'other'] as const)),
    note: Type.Optional(ShortText(2000)),
    /** New intent learned on the call; scoring regrades from it. */
    intent: Type.Optional(Intent),
    gradeSuggestion: Type.Optional(GradeCode),
  },
  'A follow-up (call, message, visit) was recorded.',
);

const appointmentProperties = {
  ...actedProperties,
  appointmentId: Id(),
  scheduledAt: Timestamp,
};

export const LeadAppointmentBooked = strict(
  {
    ...appointmentProperties,
    kind: literalUnion(AppointmentKinds),
    /** The colleague who will receive the customer, notified by SMS with the customer. */
    receiverAgentId: Type.Optional(AgentId),
    note: Type.Optional(ShortText(500)),
  },
  'An appointment (invitation, 邀约) was confirmed.',
);

export const LeadAppointmentChanged = strict(
  {
    ...appointmentProperties,
    previousScheduledAt: Timestamp,
    receiverAgentId: Type.Optional(AgentId),
    reason: Type.Optional(ShortText(500)),
  },
  'An appointment was moved.',
);

export const LeadAppointmentCancelled = strict(
  {
    ...appointmentProperties,
    reason: Type.Optional(ShortText(500)),
  },
  'An appointment was cancelled.',
);

export const LeadAppointmentReminded = strict(
  {
    ...ownerProperties,
    appointmentId: Id(),
    scheduledAt: Timestamp,
    reminder: literalUnion(['day_before', 'morning_of'] as const),
    recipients: Type.Array(literalUnion(['customer', 'agent'] as const), { minItems: 1, uniqueItems: true }),
  },
  'A reminder for an appointment went out (24 h before, and the morning of).',
);

export const LeadAppointmentNoShow = strict(
  {
    ...ownerProperties,
    appointmentId: Id(),
    scheduledAt: Timestamp,
    actor: Type.Optional(Actor),
  },
  'The customer did not come; the lead goes back to re-follow-up.',
);

export const LeadVisited = strict(
  {
    ...actedProperties,
    visitedAt: Timestamp,
    appointmentId: Type.Optional(Id()),
    /** An arrival that honours an invitation: the numerator of the invitation-to-store rate. */
    invited: Type.Boolean(),
    firstVisit: Type.Boolean(),
    receivedBy: Type.Optional(AgentId),
  },
  'The customer arrived at the store (到店).',
);

export const LeadTestDriven = strict(
  {
    ...actedProperties,
    testDrivenAt: Timestamp,
    series: Type.Optional(ShortText(100)),
    model: Type.Optional(ShortText(100)),
    appointmentId: Type.Optional(Id()),
  },
  'The customer took a test drive (an activity, not a status).',
);

export const LeadOrdered = strict(
  {
    ...actedProperties,
    orderId: Id(),
    orderedAt: Timestamp,
    series: Type.Optional(ShortText(100)),
    model: Type.Optional(ShortText(100)),
    amountCny: Type.Optional(Type.Number({ minimum: 0 })),
  },
  'The customer placed an order (订单).',
);

export const LeadWon = strict(
  {
    ...actedProperties,
    wonAt: Timestamp,
    orderId: Type.Optional(Id()),
    series: Type.Optional(ShortText(100)),
    model: Type.Optional(ShortText(100)),
    deliveredAt: Type.Optional(Timestamp),
    amountCny: Type.Optional(Type.Number({ minimum: 0 })),
  },
  'The deal closed (成交).',
);

const defeatRequestProperties = {
  ...actedProperties,
  requestId: Id(),
};

export const LeadDefeatRequested = strict(
  {
    ...defeatRequestProperties,
    ...DefeatDetail.properties,
  },
  'The owner asked to close the lead as defeated (战败申请), with a reason; the manager decides.',
);

export const LeadDefeatApproved = strict(
  {
    ...defeatRequestProperties,
    reason: DefeatReasonSchema,
    defeatedAt: Timestamp,
    note: Type.Optional(ShortText(500)),
  },
  'The manager approved the defeat: the lead is defeated and may enter nurturing.',
);

export const LeadDefeatRejected = strict(
  {
    ...defeatRequestProperties,
    note: Type.Optional(ShortText(500)),
    nextFollowUpAt: Type.Optional(Timestamp),
  },
  'The manager rejected the defeat: the owner continues with a new follow-up plan.',
);

export const LeadDefeatRescued = strict(
  {
    ...defeatRequestProperties,
    toAgentId: AgentId,
    toDealerId: Type.Optional(DealerId),
    note: Type.Optional(ShortText(500)),
  },
  'The manager reassigned a lead with a defeat request to another colleague (战败挽救).',
);

const slaProperties = {
  ...ownerProperties,
  slaPolicyId: Id(),
  milestone: literalUnion(SlaMilestones),
  dueAt: Timestamp,
};

export const LeadSlaReminder = strict(
  {
    ...slaProperties,
    elapsedPct: Type.Integer({ minimum: 0, maximum: 100 }),
  },
  'An SLA deadline is near (reminder at the policy percentage, 80 % by default).',
);

export const LeadSlaBreached = strict(
  {
    ...slaProperties,
    breachedAt: Timestamp,
    supervisorNotified: Type.Boolean(),
    /** The rung of the escalation ladder reached. */
    escalation: literalUnion(['overdue', 'reassign'] as const),
  },
  'An SLA deadline passed without the milestone.',
);

export const LeadSlaMet = strict(
  {
    ...slaProperties,
    metAt: Timestamp,
    elapsedBusinessMinutes: Type.Integer({ minimum: 0 }),
  },
  'A milestone was reached within its SLA.',
);

export const LeadLostContact = strict(
  {
    ...ownerProperties,
    attempts: Type.Integer({ minimum: 0 }),
    lastAttemptAt: Type.Optional(Timestamp),
    actor: Type.Optional(Actor),
    note: Type.Optional(ShortText(500)),
  },
  'The customer could not be reached (失控, L).',
);

export const LeadNurtureEnrolled = strict(
  {
    leadId: LeadId,
    dealerId: Type.Optional(DealerId),
    journeyId: Id(),
    cadence: literalUnion(['biweekly', 'monthly'] as const),
    reason: literalUnion(['low_intent', 'defeated', 'lost_contact', 'handed_over'] as const),
    stage: Type.Optional(ShortText(50)),
    tags: Type.Optional(Type.Array(ShortText(50), { maxItems: 50 })),
    enrolledAt: Timestamp,
    nextSendAt: Type.Optional(Timestamp),
  },
  'A lead entered a nurturing journey.',
);

export const LeadNurtureSent = strict(
  {
    leadId: LeadId,
    dealerId: Type.Optional(DealerId),
    journeyId: Id(),
    materialId: Id(),
    channel: literalUnion(MessageChannels),
    sequence: Type.Integer({ minimum: 1 }),
    messageId: Type.Optional(Id(200)),
    sentAt: Timestamp,
  },
  'Nurturing material was sent to the customer.',
);

export const LeadNurtureReverified = strict(
  {
    leadId: LeadId,
    dealerId: Type.Optional(DealerId),
    journeyId: Id(),
    outcome: literalUnion(['ready', 'still_interested', 'not_interested', 'unreachable'] as const),
    intent: Type.Optional(Intent),
    actor: Type.Optional(Actor),
    reverifiedAt: Timestamp,
  },
  'Intent and tags were re-verified (every 2 months); new intent leads to a regrade.',
);

export const LeadNurtureHandedBack = strict(
  {
    leadId: LeadId,
    dealerId: Type.Optional(DealerId),
    journeyId: Id(),
    reason: literalUnion(['intent_ready', 'event_signup', 'customer_request'] as const),
    intent: Type.Optional(Intent),
    handedBackAt: Timestamp,
  },
  'Nurturing succeeded: the lead goes back to sales follow-up.',
);

export const LeadArchived = strict(
  {
    leadId: LeadId,
    dealerId: Type.Optional(DealerId),
    reason: literalUnion(['nurture_failed', 'defeated', 'invalid', 'opted_out', 'other'] as const),
    archivedAt: Timestamp,
    actor: Type.Optional(Actor),
  },
  'The lead was archived (temporarily: a new intent reactivates it).',
);

const messageProperties = {
  leadId: LeadId,
  dealerId: Type.Optional(DealerId),
  messageId: Id(200),
  channel: literalUnion(MessageChannels),
  template: Id(),
  purpose: literalUnion([
    'appointment_booked',
    'appointment_reminder',
    'appointment_confirmation',
    'nurture',
    'sla_notice',
    'other',
  ] as const),
  recipient: literalUnion(['customer', 'agent', 'supervisor'] as const),
  recipientId: Type.Optional(PrincipalId),
  /** Masked address, for support without exposing the customer. */
  recipientMasked: Type.Optional(Type.Union([MaskedMobile, MaskedEmail])),
};

export const LeadMessageSent = strict(
  {
    ...messageProperties,
    providerMessageId: Type.Optional(Id(200)),
    sentAt: Timestamp,
  },
  'An outbound message was accepted by the provider.',
);

export const LeadMessageFailed = strict(
  {
    ...messageProperties,
    errorCode: Id(),
    error: Type.Optional(ShortText(500)),
    retriable: Type.Boolean(),
    attempts: Type.Integer({ minimum: 1 }),
    failedAt: Timestamp,
  },
  'An outbound message failed (after its retries when `retriable` is false).',
);

// ---------------------------------------------------------------------------------------------------
// Commands (nurturing → allocation)

export const LeadReassignmentRequested = strict(
  {
    leadId: LeadId,
    dealerId: DealerId,
    agentId: Type.Optional(AgentId),
    reason: literalUnion(ReassignmentReasons),
    /** Where the lead should go: the dealer's DCC, the next agent, or the next dealer. */
    target: literalUnion(['dcc', 'next_agent', 'next_dealer', 'agent'] as const),
    toAgentId: Type.Optional(AgentId),
    excludeAgentIds: Type.Optional(Type.Array(AgentId, { maxItems: 200 })),
    requestedBy: Actor,
    requestedAt: Timestamp,
  },
  'Nurturing asks allocation to move a lead (SLA grace expired, defeat rescue, scheduled transfer).',
);
