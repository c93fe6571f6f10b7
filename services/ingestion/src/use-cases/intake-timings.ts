import { Histogram, type Registry } from 'prom-client';

/**
 * Where the time of an intake request goes, step by step (`ingestion_intake_stage_seconds{stage}` on
 * `/metrics`), so that a latency figure can be taken apart under load instead of guessed at:
 *
 * - `single.before_handler` — fastify until the handler runs (body parsing, authentication, roles)
 * - `single.prepare` — validation, source and channel lookups, fingerprint (the record itself —
 *   customer key, envelope — is built in the write loop for the lead id drawn: `single.write`)
 * - `single.write` — the record's group-committed insert, from queueing to done
 * - `single.publish` — the group-committed Kafka send, from queueing to acknowledged
 * - `single.total` — the whole request as fastify saw it (until the answer was written)
 * - `write.queue` — per lead: queued until its group's write started
 * - `write.entry` / `write.records` — per write: the outbox entry insert, the records' `insertMany`
 * - `write.group_size` is not a time: see `ingestion_intake_group_size{kind}`
 * - `send.queue` — per caller: queued until its send started; `send.kafka` — per produce request
 * - `outbox.prewrite` — a pre-written entry (ids drawn by single leads later); `outbox.delete`
 */
export interface IntakeTimings {
  observe(stage: string, ms: number): void;
  groupSize(kind: 'write' | 'send', size: number): void;
}

export const noTimings: IntakeTimings = { observe: () => undefined, groupSize: () => undefined };

/** Millisecond-grained buckets: the target is p99 < 20 ms, so the interesting range is 0.5–50 ms. */
const BUCKETS_SECONDS = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1,
  0.15, 0.25, 0.5, 1, 2.5, 5,
];

export function createIntakeTimings(registry: Registry): IntakeTimings {
  const stages = new Histogram<'stage'>({
    name: 'ingestion_intake_stage_seconds',
    help: 'Time of each step of lead intake (see intake-timings.ts for the stages).',
    labelNames: ['stage'],
    buckets: BUCKETS_SECONDS,
    registers: [registry],
  });
  const sizes = new Histogram<'kind'>({
    name: 'ingestion_intake_group_size',
    help: 'Leads per group-committed write, callers per Kafka send.',
    labelNames: ['kind'],
    buckets: [1, 2, 3, 5, 8, 13, 21, 50, 100, 500, 1000, 5000],
    registers: [registry],
  });
  return {
    observe: (stage, ms) => stages.observe({ stage }, ms / 1000),
    groupSize: (kind, size) => sizes.observe({ kind }, size),
  };
}
