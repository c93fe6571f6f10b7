import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Several consumers and publishers of one process share the service registry; prom-client refuses a
 * second registration of a name, so each metric is created once per registry and then reused.
 */
function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Histogram) return existing as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing as Gauge<L>;
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export interface ConsumerMetrics {
  consumed: Counter<'topic' | 'group'>;
  handled: Counter<'topic' | 'group'>;
  skipped: Counter<'topic' | 'group'>;
  failed: Counter<'topic' | 'group' | 'error_class'>;
  dlq: Counter<'topic' | 'group' | 'reason'>;
  handlerDuration: Histogram<'topic' | 'group'>;
  eventAge: Histogram<'topic' | 'group' | 'type'>;
  lag: Gauge<'topic' | 'partition' | 'group'>;
}

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  return {
    consumed: counter(registry, 'leadflow_kafka_messages_consumed_total', 'Messages fetched and started.', [
      'topic',
      'group',
    ]),
    handled: counter(registry, 'leadflow_kafka_messages_handled_total', 'Messages whose handler succeeded.', [
      'topic',
      'group',
    ]),
    skipped: counter(
      registry,
      'leadflow_kafka_messages_skipped_total',
      'Redelivered messages skipped because their event id was already processed by the group.',
      ['topic', 'group'],
    ),
    failed: counter(
      registry,
      'leadflow_kafka_messages_failed_total',
      'Failed handler attempts (each retry counts).',
      ['topic', 'group', 'error_class'],
    ),
    dlq: counter(
      registry,
      'leadflow_kafka_messages_dlq_total',
      'Messages sent to the dead-letter topic, by reason: invalid-json, invalid-envelope, non-retriable, retries-exhausted.',
      ['topic', 'group', 'reason'],
    ),
    handlerDuration: histogram(
      registry,
      'leadflow_kafka_handler_duration_seconds',
      'Duration of successful handler runs, retries excluded.',
      ['topic', 'group'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    eventAge: histogram(
      registry,
      'leadflow_kafka_event_age_seconds',
      'Time from the event occurring to this consumer starting it: the latency of the pipeline stage.',
      ['topic', 'group', 'type'],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    ),
    lag: gauge(registry, 'leadflow_kafka_consumer_lag', 'High watermark minus the next offset to process.', [
      'topic',
      'partition',
      'group',
    ]),
  };
}

export function publishedCounter(registry: Registry): Counter<'topic' | 'type'> {
  return counter(registry, 'leadflow_kafka_events_published_total', 'Events acknowledged by the broker.', [
    'topic',
    'type',
  ]);
}

/** Produce requests the publisher sent: fewer than publish calls when concurrent calls were coalesced. */
export function publishRequestsCounter(registry: Registry): Counter {
  return counter(
    registry,
    'leadflow_kafka_publish_requests_total',
    'Producer requests sent by the publisher (concurrent publish calls share one).',
    [],
  );
}
