/**
 * The public integrator stream, "lead events v1" (topic `leadflow.public.lead-events.v1`).
 *
 * What it carries: ids, channel, grade, dealer, status, reason codes and timestamps. What it never
 * carries: names, phone numbers, e-mail addresses, hashes of them, agent ids, free-text notes, or the
 * source's raw fields. A mobile appears only masked (`+86138****5678`). Internal-only events (SLA
 * timers, messaging, defeat workflow steps, commands between services) are not published.
 *
 * Compatibility rules for v1:
 * - Additive only: a v1 event may gain new optional properties and new `type` values; integrators must
 *   ignore properties and event types they do not know.
 * - No property is removed, renamed, retyped or made required, and no status or reason code changes
 *   meaning; an enumerated list may only grow.
 * - `id` is stable per event (re-deliveries carry the same id), so integrators deduplicate on it.
 *   Events of one lead are ordered (the topic is keyed by `leadId`); across leads there is no order.
 * - Anything else is a breaking change: it ships as `lead events v2` on a new topic, published side by
 *   side with v1 until integrators have moved.
 *
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  ChannelRef,
  DealerId,
  GradeCode,
  LeadId,
  LeadMarkerSchema,
  LeadStatusSchema,
  MaskedMobile,
  OemId,
  Timestamp,
  literalUnion,
  type LeadStatus,
} from './common.js';
import type { AnyEnvelope, EventName } from './events.js';
import { registerFormats } from './formats.js';
import { Topics } from './topics.js';

/** The topic integrators subscribe to. */
export const PUBLIC_STREAM_TOPIC = Topics.publicLeadEvents.name;

/**
 * The compatibility rules of lead events v1, as published in the AsyncAPI document and the webhooks
 * README (one list, so the documents cannot disagree with each other or with this module's header).
 */
export const PublicStreamCompatibilityRules = [
  'Additive only within v1: an event may gain new optional properties and v1 may gain new `type` values; consumers ignore properties and event types they do not know.',
  'No property is removed, renamed, retyped or made required, and no status or reason code changes meaning; enumerated lists only grow.',
  '`id` is stable per event: a re-delivery (Kafka or webhook, live or replay) carries the same id, so consumers deduplicate on it.',
  'Events of one lead are ordered (the topic is keyed by `leadId`; webhooks deliver a lead’s next event only after the previous one was delivered or given up); across leads there is no order.',
  'Anything else is a breaking change: it ships as lead events v2 on a new topic, published side by side with v1 until integrators have moved.',
] as const;

/** Internal events republished on the public stream, under the same names. */
export const PublicEventTypes = [
  'lead.received',
  'lead.cleansed',
  'lead.duplicated',
  'lead.invalidated',
  'lead.reactivated',
  'lead.scored',
  'lead.regraded',
  'lead.allocated',
  'lead.reassigned',
  'lead.grabbed',
  'lead.transferred',
  'lead.followed_up',
  'lead.appointment_booked',
  'lead.appointment_changed',
  'lead.appointment_cancelled',
  'lead.appointment_no_show',
  'lead.visited',
  'lead.test_driven',
  'lead.ordered',
  'lead.won',
  'lead.defeat_approved',
  'lead.lost_contact',
  'lead.nurture_enrolled',
  'lead.nurture_handed_back',
  'lead.archived',
] as const satisfies readonly EventName[];
export type PublicEventType = (typeof PublicEventTypes)[number];

/** The masked-mobile rule of {@link MaskedMobile}, applied again when building an event: defence in depth. */
const MASKED_MOBILE = new RegExp(MaskedMobile.pattern ?? '^$');

export const PublicLeadEventV1Schema = Type.Object(
  {
    /** The internal event id: stable across re-deliveries. */
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: literalUnion(PublicEventTypes),
    version: Type.Literal(1),
    occurredAt: Timestamp,
    oemId: OemId,
    leadId: LeadId,
    /** The source's own id of the lead, for integrators that pushed it. */
    externalId: Type.Optional(Type.String({ maxLength: 200 })),
    /** The lead's status after this event, when the event changes it. */
    status: Type.Optional(LeadStatusSchema),
    channel: Type.Optional(ChannelRef),
    grade: Type.Optional(GradeCode),
    score: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    dealerId: Type.Optional(DealerId),
    /** The open lead a duplicate was merged into, or the closed lead a reactivation reopened. */
    relatedLeadId: Type.Optional(LeadId),
    markers: Type.Optional(Type.Array(LeadMarkerSchema, { uniqueItems: true })),
    /** A reason code (invalid, defeat, reassignment, transfer, archive reason). */
    reason: Type.Optional(Type.String({ maxLength: 50 })),
    region: Type.Optional(
      Type.Object(
        {
          province: Type.Optional(Type.String({ maxLength: 50 })),
          city: Type.Optional(Type.String({ maxLength: 50 })),
        },
        { additionalProperties: false },
      ),
    ),
    mobileMasked: Type.Optional(MaskedMobile),
    appointmentAt: Type.Optional(Timestamp),
    orderId: Type.Optional(Type.String({ maxLength: 100 })),
  },
  {
    // Strict on our side so a new field is a deliberate, reviewed addition, never a leak by spread.
    additionalProperties: false,
    $id: 'PublicLeadEventV1',
    description: 'Lead events v1: the public, PII-minimised integrator stream.',
  },
);
export type PublicLeadEventV1 = Static<typeof PublicLeadEventV1Schema>;

registerFormats();
const publicCheck = TypeCompiler.Compile(PublicLeadEventV1Schema);

/** Validates a public event (used by the publisher as a last guard and by integrator tests). */
export function isPublicLeadEventV1(value: unknown): value is PublicLeadEventV1 {
  return publicCheck.Check(value);
}

export function isPublicEventType(type: string): type is PublicEventType {
  return (PublicEventTypes as readonly string[]).includes(type);
}

type PublicFields = Omit<PublicLeadEventV1, 'id' | 'type' | 'version' | 'occurredAt' | 'oemId' | 'leadId'>;

function channelOf(channel: ChannelRef): ChannelRef {
  return { l1: channel.l1, l2: channel.l2, l3: channel.l3 };
}

function region(value: { province?: string | undefined; city?: string | undefined }) {
  const out: { province?: string; city?: string } = {};
  if (value.province) out.province = value.province;
  if (value.city) out.city = value.city;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The public fields of an event, or null when the event is internal-only. */
function publicFields(envelope: AnyEnvelope): PublicFields | null {
  switch (envelope.type) {
    case 'lead.received': {
      const d = envelope.data;
      return {
        status: 'new',
        channel: channelOf(d.channel),
        externalId: d.externalId,
        dealerId: d.showroom?.dealerId,
        region: region(d.customer),
      };
    }
    case 'lead.cleansed':
    case 'lead.reactivated': {
      const d = envelope.data;
      const mobileMasked = d.contact.mobileMasked;
      return {
        status: 'new',
        channel: channelOf(d.channel),
        markers: [...d.markers],
        relatedLeadId: d.reactivatedFrom,
        region: region(d.region),
        dealerId: d.showroom?.dealerId,
        mobileMasked:
          mobileMasked !== undefined && MASKED_MOBILE.test(mobileMasked) ? mobileMasked : undefined,
      };
    }
    case 'lead.duplicated': {
      const d = envelope.data;
      return {
        status: 'merged',
        channel: channelOf(d.channel),
        relatedLeadId: d.openLeadId,
        dealerId: d.dealerId,
        markers: ['duplicate'],
      };
    }
    case 'lead.invalidated': {
      const d = envelope.data;
      return { status: 'invalid', channel: channelOf(d.channel), reason: d.reason, dealerId: d.dealerId };
    }
    case 'lead.scored':
    case 'lead.regraded': {
      const d = envelope.data;
      return {
        status: envelope.type === 'lead.scored' ? 'qualified' : undefined,
        grade: d.grade,
        score: d.score,
        channel: channelOf(d.channel),
        dealerId: envelope.type === 'lead.regraded' ? envelope.data.dealerId : undefined,
      };
    }
    case 'lead.allocated':
      return {
        status: assignedStatus(envelope.data.agentId),
        dealerId: envelope.data.dealerId,
        grade: envelope.data.grade,
      };
    case 'lead.reassigned':
      return {
        status: assignedStatus(envelope.data.agentId),
        dealerId: envelope.data.dealerId,
        reason: envelope.data.reason,
      };
    case 'lead.grabbed':
      return {
        status: assignedStatus(envelope.data.agentId),
        dealerId: envelope.data.dealerId,
        markers: ['grabbed'],
      };
    case 'lead.transferred':
      return { dealerId: envelope.data.dealerId, reason: envelope.data.reason };
    case 'lead.followed_up':
      return { status: 'pending_re_follow_up', dealerId: envelope.data.dealerId };
    case 'lead.appointment_booked':
    case 'lead.appointment_changed':
      return {
        status: 'invited',
        dealerId: envelope.data.dealerId,
        appointmentAt: envelope.data.scheduledAt,
      };
    case 'lead.appointment_cancelled':
    case 'lead.appointment_no_show':
      return { status: 'pending_re_follow_up', dealerId: envelope.data.dealerId };
    case 'lead.visited':
      return { status: 'arrived', dealerId: envelope.data.dealerId };
    case 'lead.test_driven':
      return { dealerId: envelope.data.dealerId };
    case 'lead.ordered':
      return { status: 'ordered', dealerId: envelope.data.dealerId, orderId: envelope.data.orderId };
    case 'lead.won':
      return { status: 'won', dealerId: envelope.data.dealerId, orderId: envelope.data.orderId };
    case 'lead.defeat_approved':
      return { status: 'defeated', dealerId: envelope.data.dealerId, reason: envelope.data.reason };
    case 'lead.lost_contact':
      return { status: 'lost_contact', dealerId: envelope.data.dealerId };
    case 'lead.nurture_enrolled':
      return { status: 'nurturing', dealerId: envelope.data.dealerId, reason: envelope.data.reason };
    case 'lead.nurture_handed_back':
      return {
        status: 'pending_re_follow_up',
        dealerId: envelope.data.dealerId,
        reason: envelope.data.reason,
      };
    case 'lead.archived':
      return { status: 'archived', dealerId: envelope.data.dealerId, reason: envelope.data.reason };
    case 'lead.declined':
    case 'lead.lifecycle_started':
    case 'lead.appointment_reminded':
    case 'lead.defeat_requested':
    case 'lead.defeat_rejected':
    case 'lead.defeat_rescued':
    case 'lead.sla_reminder':
    case 'lead.sla_breached':
    case 'lead.sla_met':
    case 'lead.nurture_sent':
    case 'lead.nurture_reverified':
    case 'lead.message_sent':
    case 'lead.message_failed':
    case 'lead.reassignment_requested':
      return null;
  }
}

function assignedStatus(agentId: string | undefined): LeadStatus {
  return agentId === undefined ? 'dispatched' : 'pending_first_follow_up';
}

/**
 * Maps an internal (validated) envelope to its public v1 event, or null when the event is internal-only.
 * Properties are picked one by one, never spread, so a field added to an internal payload cannot reach
 * integrators without a change here.
 */
export function toPublicEvent(envelope: AnyEnvelope): PublicLeadEventV1 | null {
  if (!isPublicEventType(envelope.type)) return null;
  const fields = publicFields(envelope);
  if (fields === null) return null;
  const event: PublicLeadEventV1 = {
    id: envelope.id,
    type: envelope.type,
    version: 1,
    occurredAt: envelope.occurredAt,
    oemId: envelope.oemId,
    leadId: envelope.data.leadId,
  };
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) (event as Record<string, unknown>)[name] = value;
  }
  return event;
}
