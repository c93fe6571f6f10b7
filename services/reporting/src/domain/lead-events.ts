import { Events, EventNames, type EventName, type PayloadOf } from '@leadflow/contracts/events';
import { Topics, type TopicId } from '@leadflow/contracts/topics';

/** The topics reporting projects: every lead event; not the commands between services, not the DLQs. */
export const ConsumedTopicIds = [
  'intake',
  'cleansing',
  'scoring',
  'allocation',
  'lifecycle',
] as const satisfies readonly TopicId[];
export type ConsumedTopicId = (typeof ConsumedTopicIds)[number];

/** The pipeline stage an event belongs to, shown on the timeline. */
export type Stage = ConsumedTopicId;

const stageByTopic = new Map<string, Stage>(ConsumedTopicIds.map((id) => [Topics[id].name, id]));

/** The stage of an event, or `undefined` for events reporting does not project (commands). */
export function stageOf(type: EventName): Stage | undefined {
  return stageByTopic.get(Events[type].topic);
}

export const ProjectedEventNames: readonly EventName[] = EventNames.filter(
  (name) => stageOf(name) !== undefined,
);

// Fields that can carry personal data: contact details, the raw source record, and free text typed by
// staff or customers (a note may well contain a phone number). None of them reach the read models.
const PiiKeys = [
  'customer',
  'contact',
  'raw',
  'note',
  'description',
  'detail',
  'error',
  'customerKey',
] as const;
type PiiKey = (typeof PiiKeys)[number];

/** A payload without its personal data: what the events collection stores and the timeline shows. */
export type Summary<T> = Omit<T, PiiKey>;

/** Any projected event as stored: its type narrows the summary. */
export type SummarisedEvent = { [N in EventName]: { type: N; data: Summary<PayloadOf<N>> } }[EventName];

/** Copies a payload without the personal fields (and without the customer's own words in `intent`). */
export function summarise<N extends EventName>(data: PayloadOf<N>): Summary<PayloadOf<N>> {
  const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const key of PiiKeys) delete copy[key];
  const intent = copy.intent;
  if (typeof intent === 'object' && intent !== null && 'message' in intent) {
    const { message: _message, ...rest } = intent as Record<string, unknown>;
    copy.intent = rest;
  }
  return copy as Summary<PayloadOf<N>>;
}

// The payload field holding the moment the business fact happened (the call, the visit, the deal),
// which is what a day bucket must count; events without one happened when they were published.
const BusinessTimeField: Partial<Record<EventName, string>> = {
  'lead.received': 'receivedAt',
  'lead.duplicated': 'receivedAt',
  'lead.allocated': 'allocatedAt',
  'lead.reassigned': 'reassignedAt',
  'lead.declined': 'declinedAt',
  'lead.grabbed': 'grabbedAt',
  'lead.transferred': 'transferredAt',
  'lead.followed_up': 'contactedAt',
  'lead.visited': 'visitedAt',
  'lead.test_driven': 'testDrivenAt',
  'lead.ordered': 'orderedAt',
  'lead.won': 'wonAt',
  'lead.defeat_approved': 'defeatedAt',
  'lead.sla_breached': 'breachedAt',
  'lead.sla_met': 'metAt',
  'lead.nurture_enrolled': 'enrolledAt',
  'lead.nurture_sent': 'sentAt',
  'lead.nurture_reverified': 'reverifiedAt',
  'lead.nurture_handed_back': 'handedBackAt',
  'lead.archived': 'archivedAt',
  'lead.message_sent': 'sentAt',
  'lead.message_failed': 'failedAt',
};

/** When the business fact of an event happened: its payload timestamp, else `occurredAt`. */
export function businessTimeOf(event: { type: EventName; occurredAt: string; data: unknown }): Date {
  const field = BusinessTimeField[event.type];
  const value = field === undefined ? undefined : (event.data as Record<string, unknown>)[field];
  const time = typeof value === 'string' ? new Date(value) : new Date(event.occurredAt);
  return Number.isNaN(time.getTime()) ? new Date(event.occurredAt) : time;
}

/** Dealer and agent the event happened at, taken from the event itself so attribution never depends on arrival order. */
export function ownerOf(event: SummarisedEvent): { dealerId?: string; agentId?: string } {
  const data = event.data as Record<string, unknown>;
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  let dealerId = str(data.dealerId);
  if (event.type === 'lead.received') dealerId = event.data.showroom?.dealerId;
  if (event.type === 'lead.scored') dealerId = event.data.showroomDealerId;
  const agentId =
    str(data.agentId) ?? (event.type === 'lead.received' ? event.data.showroom?.capturedBy : undefined);
  return {
    ...(dealerId === undefined ? {} : { dealerId }),
    ...(agentId === undefined ? {} : { agentId }),
  };
}
