import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createConsumer, createPublisher, ensureTopics, KafkaHeaders } from '../src/kafka/index.js';
import { initTelemetry, SpanKind, withSpan, type Telemetry } from '../src/telemetry/index.js';
import { envelope, silentLogger, testKafka, unique, waitFor } from './kafka-helpers.js';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;

beforeAll(() => {
  telemetry = initTelemetry({ service: 'platform-test', version: '0.0.0', exporter });
});

afterAll(async () => {
  await telemetry.shutdown();
});

it('carries the trace from the publishing request through Kafka headers into the handler', async () => {
  const kafka = testKafka();
  const topic = unique('traced');
  await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
  const publisher = createPublisher({ kafka, logger: silentLogger });
  await publisher.connect();
  const event = envelope();
  const requestTraceId = await withSpan('POST /leads', {}, async (span) => {
    await publisher.publish(topic, event);
    return span.spanContext().traceId;
  });
  await publisher.disconnect();

  let handlerTraceId: string | undefined;
  let headers: Record<string, string> = {};
  const consumer = createConsumer({
    kafka,
    logger: silentLogger,
    groupId: unique('g-traced'),
    topics: [topic],
    handler: (_event, ctx) => {
      headers = ctx.headers;
      handlerTraceId = trace.getSpan(context.active())?.spanContext().traceId;
      return Promise.resolve();
    },
  });
  await consumer.start();
  try {
    await waitFor(() => handlerTraceId !== undefined, 'the traced message');
  } finally {
    await consumer.stop();
  }

  expect(handlerTraceId).toBe(requestTraceId);
  expect(headers[KafkaHeaders.traceparent]).toMatch(new RegExp(`^00-${requestTraceId}-[0-9a-f]{16}-01$`));
  const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === requestTraceId);
  const byName = new Map(spans.map((s) => [s.name, s]));
  expect(byName.get(`${topic} publish`)?.kind).toBe(SpanKind.PRODUCER);
  expect(byName.get(`${topic} process`)?.kind).toBe(SpanKind.CONSUMER);
  expect(byName.get(`${topic} process`)?.attributes['messaging.message.id']).toBe(event.id);
});
