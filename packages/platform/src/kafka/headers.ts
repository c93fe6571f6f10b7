/**
 * Kafka header names. WARNING: wire-level, do not rename — other services, the DLQ replay tool and
 * integrators read them.
 */
export const KafkaHeaders = {
  traceparent: 'traceparent',
  correlationId: 'correlation-id',
  eventType: 'event-type',
  eventId: 'event-id',
  dlqReason: 'dlq-reason',
  dlqErrorClass: 'dlq-error-class',
  dlqSourceTopic: 'dlq-source-topic',
  dlqSourcePartition: 'dlq-source-partition',
  dlqSourceOffset: 'dlq-source-offset',
  dlqGroup: 'dlq-group',
  dlqAttempts: 'dlq-attempts',
  dlqAt: 'dlq-at',
} as const;

/** The dead-letter topic of `topic`. WARNING: wire-level naming rule shared with the contracts package. */
export function dlqTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

type RawHeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** Kafka headers as plain strings; a repeated header keeps its last value. */
export function decodeHeaders(headers: Record<string, RawHeaderValue> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = last.toString();
  }
  return out;
}
