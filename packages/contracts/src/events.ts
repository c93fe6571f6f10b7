import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type TypeCheck, type ValueError } from '@sinclair/typebox/compiler';
import { EnvelopeHeaderSchema, type Envelope } from './envelope.js';
import { registerFormats } from './formats.js';
import {
  LeadAllocated,
  LeadAppointmentBooked,
  LeadAppointmentCancelled,
  LeadAppointmentChanged,
  LeadAppointmentNoShow,
  LeadAppointmentReminded,
  LeadArchived,
  LeadCleansed,
  LeadDeclined,
  LeadDefeatApproved,
  LeadDefeatRejected,
  LeadDefeatRequested,
  LeadDefeatRescued,
  LeadDuplicated,
  LeadFollowedUp,
  LeadGrabbed,
  LeadInvalidated,
  LeadLifecycleStarted,
  LeadLostContact,
  LeadMessageFailed,
  LeadMessageSent,
  LeadNurtureEnrolled,
  LeadNurtureHandedBack,
  LeadNurtureReverified,
  LeadNurtureSent,
  LeadOrdered,
  LeadReactivated,
  LeadReassigned,
  LeadReassignmentRequested,
  LeadReceived,
  LeadRegraded,
  LeadScored,
  LeadSlaBreached,
  LeadSlaMet,
  LeadSlaReminder,
  LeadTestDriven,
  LeadTransferred,
  LeadVisited,
  LeadWon,
} from './payloads.js';
import { Topics, type TopicName } from './topics.js';

/** One entry of the event catalogue. */
export interface EventDefinition<S extends TSchema = TSchema> {
  /** Payload schema version; a breaking change is a new version published side by side. */
  readonly version: number;
  readonly topic: TopicName;
  readonly schema: S;
  readonly description: string;
}

const intake = Topics.intake.name;
const cleansing = Topics.cleansing.name;
const scoring = Topics.scoring.name;
const allocation = Topics.allocation.name;
const lifecycle = Topics.lifecycle.name;
const commands = Topics.commands.name;

// WARNING: wire-level, do not rename. Event names (`<aggregate>.<past-tense>`) are the envelope `type`
// every consumer dispatches on and the public stream republishes. Within a version only additive
// changes are allowed.
export const Events = {
  // ingestion
  'lead.received': {
    version: 1,
    topic: intake,
    schema: LeadReceived,
    description: 'A lead arrived from a channel.',
  },
  // cleansing
  'lead.cleansed': {
    version: 1,
    topic: cleansing,
    schema: LeadCleansed,
    description: 'A valid new lead entered the pool.',
  },
  'lead.duplicated': {
    version: 1,
    topic: cleansing,
    schema: LeadDuplicated,
    description: 'A lead was merged into an open lead as a touchpoint (重); keyed by the open lead.',
  },
  'lead.invalidated': {
    version: 1,
    topic: cleansing,
    schema: LeadInvalidated,
    description: 'A lead was declared invalid (无效).',
  },
  'lead.reactivated': {
    version: 1,
    topic: cleansing,
    schema: LeadReactivated,
    description: 'A new lead reopened a closed customer history (激).',
  },
  // scoring
  'lead.scored': {
    version: 1,
    topic: scoring,
    schema: LeadScored,
    description: 'A lead received its first grade.',
  },
  'lead.regraded': {
    version: 1,
    topic: scoring,
    schema: LeadRegraded,
    description: "A lead's grade changed after new intent.",
  },
  // allocation
  'lead.allocated': {
    version: 1,
    topic: allocation,
    schema: LeadAllocated,
    description: 'A lead was offered to a dealer (and agent).',
  },
  'lead.reassigned': {
    version: 1,
    topic: allocation,
    schema: LeadReassigned,
    description: 'Ownership moved to another dealer or agent.',
  },
  'lead.declined': {
    version: 1,
    topic: allocation,
    schema: LeadDeclined,
    description: 'A dealer declined an offer or let it time out.',
  },
  'lead.grabbed': {
    version: 1,
    topic: allocation,
    schema: LeadGrabbed,
    description: 'A lead was taken from the public pool (抢).',
  },
  'lead.transferred': {
    version: 1,
    topic: allocation,
    schema: LeadTransferred,
    description: 'A lead moved between queues or people (e.g. showroom to DCC).',
  },
  // nurturing: lifecycle
  'lead.lifecycle_started': {
    version: 1,
    topic: lifecycle,
    schema: LeadLifecycleStarted,
    description: "The lead's lifecycle workflow started.",
  },
  'lead.followed_up': {
    version: 1,
    topic: lifecycle,
    schema: LeadFollowedUp,
    description: 'A follow-up was recorded.',
  },
  'lead.appointment_booked': {
    version: 1,
    topic: lifecycle,
    schema: LeadAppointmentBooked,
    description: 'An appointment was confirmed (邀约).',
  },
  'lead.appointment_changed': {
    version: 1,
    topic: lifecycle,
    schema: LeadAppointmentChanged,
    description: 'An appointment was moved.',
  },
  'lead.appointment_cancelled': {
    version: 1,
    topic: lifecycle,
    schema: LeadAppointmentCancelled,
    description: 'An appointment was cancelled.',
  },
  'lead.appointment_reminded': {
    version: 1,
    topic: lifecycle,
    schema: LeadAppointmentReminded,
    description: 'An appointment reminder went out.',
  },
  'lead.appointment_no_show': {
    version: 1,
    topic: lifecycle,
    schema: LeadAppointmentNoShow,
    description: 'The customer missed the appointment.',
  },
  'lead.visited': {
    version: 1,
    topic: lifecycle,
    schema: LeadVisited,
    description: 'The customer arrived at the store (到店).',
  },
  'lead.test_driven': {
    version: 1,
    topic: lifecycle,
    schema: LeadTestDriven,
    description: 'The customer took a test drive.',
  },
  'lead.ordered': {
    version: 1,
    topic: lifecycle,
    schema: LeadOrdered,
    description: 'The customer placed an order.',
  },
  'lead.won': { version: 1, topic: lifecycle, schema: LeadWon, description: 'The deal closed (成交).' },
  'lead.defeat_requested': {
    version: 1,
    topic: lifecycle,
    schema: LeadDefeatRequested,
    description: 'The owner asked to close the lead as defeated.',
  },
  'lead.defeat_approved': {
    version: 1,
    topic: lifecycle,
    schema: LeadDefeatApproved,
    description: 'The manager approved the defeat (战败).',
  },
  'lead.defeat_rejected': {
    version: 1,
    topic: lifecycle,
    schema: LeadDefeatRejected,
    description: 'The manager rejected the defeat request.',
  },
  'lead.defeat_rescued': {
    version: 1,
    topic: lifecycle,
    schema: LeadDefeatRescued,
    description: 'The manager gave the lead to another colleague (战败挽救).',
  },
  'lead.sla_reminder': {
    version: 1,
    topic: lifecycle,
    schema: LeadSlaReminder,
    description: 'An SLA deadline is near.',
  },
  'lead.sla_breached': {
    version: 1,
    topic: lifecycle,
    schema: LeadSlaBreached,
    description: 'An SLA deadline passed.',
  },
  'lead.sla_met': {
    version: 1,
    topic: lifecycle,
    schema: LeadSlaMet,
    description: 'A milestone was reached within its SLA.',
  },
  'lead.lost_contact': {
    version: 1,
    topic: lifecycle,
    schema: LeadLostContact,
    description: 'The customer could not be reached (失控).',
  },
  'lead.nurture_enrolled': {
    version: 1,
    topic: lifecycle,
    schema: LeadNurtureEnrolled,
    description: 'A lead entered a nurturing journey.',
  },
  'lead.nurture_sent': {
    version: 1,
    topic: lifecycle,
    schema: LeadNurtureSent,
    description: 'Nurturing material was sent.',
  },
  'lead.nurture_reverified': {
    version: 1,
    topic: lifecycle,
    schema: LeadNurtureReverified,
    description: 'Intent was re-verified during nurturing.',
  },
  'lead.nurture_handed_back': {
    version: 1,
    topic: lifecycle,
    schema: LeadNurtureHandedBack,
    description: 'Nurturing handed the lead back to sales.',
  },
  'lead.archived': {
    version: 1,
    topic: lifecycle,
    schema: LeadArchived,
    description: 'The lead was archived.',
  },
  'lead.message_sent': {
    version: 1,
    topic: lifecycle,
    schema: LeadMessageSent,
    description: 'An outbound message was sent.',
  },
  'lead.message_failed': {
    version: 1,
    topic: lifecycle,
    schema: LeadMessageFailed,
    description: 'An outbound message failed.',
  },
  // nurturing: commands to allocation
  'lead.reassignment_requested': {
    version: 1,
    topic: commands,
    schema: LeadReassignmentRequested,
    description: 'Nurturing asks allocation to move a lead.',
  },
} as const satisfies Record<string, EventDefinition>;

export type EventName = keyof typeof Events;
/** The payload (`data`) type of an event. */
export type PayloadOf<N extends EventName> = Static<(typeof Events)[N]['schema']>;
/** The full envelope of an event; for a union of names, the union of their envelopes. */
export type EnvelopeOf<N extends EventName> = N extends EventName ? Envelope<PayloadOf<N>, N> : never;
/** Any catalogued envelope; `switch (envelope.type)` narrows `data`. */
export type AnyEnvelope = EnvelopeOf<EventName>;

/** Every event name in the catalogue. */
export const EventNames = Object.keys(Events) as EventName[];

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.hasOwn(Events, value);
}

/** The events published on one topic (what a consumer of that topic must be ready for). */
export function eventsOnTopic(topicName: string): EventName[] {
  return EventNames.filter((name) => Events[name].topic === topicName);
}

// ---------------------------------------------------------------------------------------------------
// Validation. Checkers are compiled once at module load: consumers validate every message.

registerFormats();

// The header is checked on its own (data as unknown) so a bad header is reported even when the type is
// unknown, and a bad payload is reported with paths under `/data`.
const headerCheck = TypeCompiler.Compile(
  Type.Composite([EnvelopeHeaderSchema, Type.Object({ data: Type.Unknown() })], {
    additionalProperties: false,
  }),
);

const payloadChecks = Object.fromEntries(
  EventNames.map((name) => [name, TypeCompiler.Compile(Events[name].schema)]),
) as { [N in EventName]: TypeCheck<(typeof Events)[N]['schema']> };

function describe(error: ValueError): string {
  // "Expected union value" says nothing useful for a code list; name the allowed codes instead.
  const anyOf = (error.schema as { anyOf?: unknown }).anyOf;
  if (
    error.type === ValueErrorType.Union &&
    Array.isArray(anyOf) &&
    anyOf.every((option) => typeof option === 'object' && option !== null && 'const' in option)
  ) {
    return `Expected one of ${anyOf.map((option: { const: unknown }) => JSON.stringify(option.const)).join(', ')}`;
  }
  return error.message;
}

// One message per path: a missing property would otherwise also be reported as "Expected string".
function errorsOf(check: TypeCheck<TSchema>, value: unknown, prefix: string): string[] {
  // The compiled check first: walking Errors() costs several times more, and almost every event is valid.
  if (check.Check(value)) return [];
  const byPath = new Map<string, string>();
  for (const error of check.Errors(value)) {
    const path = `${prefix}${error.path}` || '/';
    if (!byPath.has(path)) byPath.set(path, describe(error));
  }
  return [...byPath].map(([path, message]) => `${path}: ${message}`);
}

/** Thrown by {@link makeEnvelope} when a producer builds an event its own catalogue rejects. */
export class EnvelopeValidationError extends Error {
  override readonly name = 'EnvelopeValidationError';
  constructor(
    readonly eventType: string,
    readonly errors: string[],
  ) {
    super(`invalid ${eventType} envelope: ${errors.join('; ')}`);
  }
}

/**
 * The Kafka key an event must be published with: the customer key on intake (dedup per customer is
 * serialised), the open lead for a duplicate (it belongs to that lead's history), the lead id elsewhere.
 */
export function keyFor<N extends EventName>(type: N, data: PayloadOf<N>): string {
  const payload: PayloadOf<EventName> = data;
  if (Events[type].topic === Topics.intake.name && 'customerKey' in payload && payload.customerKey) {
    return payload.customerKey;
  }
  if ('openLeadId' in payload) return payload.openLeadId;
  return payload.leadId;
}

/** The header fields a producer supplies; `type` and `version` come from the catalogue. */
export interface EnvelopeInit<N extends EventName> {
  /** Deterministic where possible (`${leadId}:allocated:${attempt}`) so re-publishes are recognisable. */
  id: string;
  /** The Kafka key; defaults to {@link keyFor}. */
  key?: string;
  oemId: string;
  correlationId: string;
  causationId?: string;
  /** Defaults to now. */
  occurredAt?: string | Date;
  data: PayloadOf<N>;
}

/**
 * Builds the envelope of a catalogued event and validates it, so an event the catalogue would reject
 * never reaches the wire (it would only end in every consumer's DLQ).
 *
 * @throws EnvelopeValidationError listing every offending path.
 */
export function makeEnvelope<N extends EventName>(type: N, init: EnvelopeInit<N>): EnvelopeOf<N> {
  const occurredAt =
    init.occurredAt instanceof Date
      ? init.occurredAt.toISOString()
      : (init.occurredAt ?? new Date().toISOString());
  const envelope = {
    id: init.id,
    type,
    version: Events[type].version,
    occurredAt,
    correlationId: init.correlationId,
    ...(init.causationId === undefined ? {} : { causationId: init.causationId }),
    key: init.key ?? keyFor(type, init.data),
    oemId: init.oemId,
    data: init.data,
  } as EnvelopeOf<N>;
  const result = parseEnvelope(envelope);
  if (!result.ok) throw new EnvelopeValidationError(type, result.errors);
  return envelope;
}

export type ParseResult = { ok: true; envelope: AnyEnvelope } | { ok: false; errors: string[] };

function decode(raw: unknown): { value: unknown } | { error: string } {
  if (typeof raw !== 'string' && !(raw instanceof Uint8Array)) return { value: raw };
  const text =
    typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { error: `/: not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}

/**
 * Validates an incoming envelope (an object, or a JSON string / Buffer straight from Kafka) against the
 * header schema and the catalogue entry of its `type`. Never throws: a failure lists every offending
 * JSON path, ready for the DLQ reason.
 */
export function parseEnvelope(raw: unknown): ParseResult {
  const decoded = decode(raw);
  if ('error' in decoded) return { ok: false, errors: [decoded.error] };
  const value = decoded.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, errors: ['/: expected an envelope object'] };
  }

  const errors = errorsOf(headerCheck, value, '');
  const { type, version, data } = value as { type?: unknown; version?: unknown; data?: unknown };
  if (isEventName(type)) {
    const expected = Events[type].version;
    if (typeof version === 'number' && version !== expected) {
      errors.push(`/version: ${type} v${version} is not in this catalogue (it knows v${expected})`);
    }
    if (data !== undefined) errors.push(...errorsOf(payloadChecks[type], data, '/data'));
  } else if (typeof type === 'string') {
    errors.push(`/type: unknown event type "${type}"`);
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, envelope: value as AnyEnvelope };
}
