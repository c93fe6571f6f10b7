/** Which envelope field a topic's messages are keyed (partitioned) by. */
export type TopicKey = 'customerKey' | 'leadId';

/** Everything needed to create, produce to and consume from one topic. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly key: TopicKey;
  /** Why this key: the ordering guarantee consumers rely on. */
  readonly keyReason: string;
  /** Dead-letter topic for messages that can never be processed (bad payload, schema violation). */
  readonly dlq: string;
  readonly retentionMs: number;
  /** The single service that produces to this topic. */
  readonly producer: string;
  readonly description: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Retention of every `.dlq` topic: long enough for an operator to inspect, fix and replay. */
export const DLQ_RETENTION_MS = 30 * DAY_MS;

// WARNING: wire-level, do not rename. Topic names are what producers, consumer groups, offsets, DLQs and
// integrators' subscriptions are bound to; renaming one silently splits the stream. A breaking change is
// a new `.v2` topic published side by side until every consumer has moved.
export const Topics = {
  intake: {
    name: 'leadflow.intake.v1',
    partitions: 12,
    key: 'customerKey',
    keyReason:
      'All leads of one customer land on one partition, so dedup for a customer is serialised across any number of cleansing instances.',
    dlq: 'leadflow.intake.v1.dlq',
    retentionMs: 7 * DAY_MS,
    producer: 'ingestion',
    description: 'Leads as received from every channel (lead.received).',
  },
  cleansing: {
    name: 'leadflow.cleansing.v1',
    partitions: 12,
    key: 'leadId',
    keyReason: "A lead's cleansing outcome is ordered with the rest of that lead's events.",
    dlq: 'leadflow.cleansing.v1.dlq',
    retentionMs: 14 * DAY_MS,
    producer: 'cleansing',
    description:
      'Cleansing outcomes: cleansed, duplicated (keyed by the open lead), invalidated, reactivated.',
  },
  scoring: {
    name: 'leadflow.scoring.v1',
    partitions: 12,
    key: 'leadId',
    keyReason: 'Grades of one lead are applied in the order they were given (scored before regraded).',
    dlq: 'leadflow.scoring.v1.dlq',
    retentionMs: 14 * DAY_MS,
    producer: 'scoring',
    description: 'Grades and their explanations (lead.scored, lead.regraded).',
  },
  allocation: {
    name: 'leadflow.allocation.v1',
    partitions: 12,
    key: 'leadId',
    keyReason: 'Ownership changes of one lead (allocated, declined, reassigned, ...) must be seen in order.',
    dlq: 'leadflow.allocation.v1.dlq',
    retentionMs: 14 * DAY_MS,
    producer: 'allocation',
    description: 'Dealer and agent assignments and ownership changes.',
  },
  lifecycle: {
    name: 'leadflow.lifecycle.v1',
    partitions: 12,
    key: 'leadId',
    keyReason: "A lead's lifecycle (follow-ups, appointments, deal or defeat) is a per-lead sequence.",
    dlq: 'leadflow.lifecycle.v1.dlq',
    retentionMs: 30 * DAY_MS,
    producer: 'nurturing',
    description: 'Lifecycle, SLA, nurturing and messaging events produced by nurturing.',
  },
  commands: {
    name: 'leadflow.commands.v1',
    partitions: 12,
    key: 'leadId',
    keyReason: 'A reassignment request for a lead is ordered with the lifecycle events that caused it.',
    dlq: 'leadflow.commands.v1.dlq',
    retentionMs: 7 * DAY_MS,
    producer: 'nurturing',
    description: 'Requests from nurturing to allocation (lead.reassignment_requested).',
  },
  publicLeadEvents: {
    name: 'leadflow.public.lead-events.v1',
    partitions: 12,
    key: 'leadId',
    keyReason: "Integrators see each lead's events in order.",
    dlq: 'leadflow.public.lead-events.v1.dlq',
    retentionMs: 7 * DAY_MS,
    // The webhooks service relays the internal lead topics into this one (and delivers it as webhooks).
    producer: 'webhooks',
    description: 'The public, PII-minimised integrator stream "lead events v1" (documented in AsyncAPI).',
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicId = keyof typeof Topics;
export type TopicName = (typeof Topics)[TopicId]['name'];

/** The dead-letter topic of a topic: `<name>.dlq`. */
export function dlqOf(topicName: string): string {
  return `${topicName}.dlq`;
}

/** Options for {@link allTopics}: tests isolate themselves with a prefix and fewer partitions. */
export interface AllTopicsOptions {
  /** Prepended to every topic and DLQ name (e.g. `test-3f2a.`). */
  prefix?: string;
  partitions?: number;
}

/** Every topic in the catalogue, optionally prefixed and re-partitioned (for tests). */
export function allTopics(options: AllTopicsOptions = {}): TopicSpec[] {
  const prefix = options.prefix ?? '';
  return Object.values(Topics).map((topic) => {
    const name = `${prefix}${topic.name}`;
    return { ...topic, name, dlq: dlqOf(name), partitions: options.partitions ?? topic.partitions };
  });
}

/** The catalogue entry for a topic name, or undefined if it is not a Leadflow topic. */
export function topicByName(name: string): TopicSpec | undefined {
  return Object.values(Topics).find((topic) => topic.name === name);
}

// WARNING: wire-level, do not rename. Headers a consumer puts on a message it dead-letters, so an
// operator (or a replay tool) can see why and where from without parsing the body.
export const DlqHeaders = {
  reason: 'x-dlq-reason',
  errors: 'x-dlq-errors',
  sourceTopic: 'x-dlq-source-topic',
  sourcePartition: 'x-dlq-source-partition',
  sourceOffset: 'x-dlq-source-offset',
  consumerGroup: 'x-dlq-consumer-group',
  failedAt: 'x-dlq-failed-at',
} as const;
