import type { Envelope } from '@leadflow/contracts/envelope';
import type { Publisher } from '@leadflow/platform/kafka';
import type { IntakeRecord, IntakeRecordRepository } from '../repositories/intake-record.repository.js';
import { noTimings, type IntakeTimings } from './intake-timings.js';

/**
 * Bytes of envelope JSON per produce request. The broker refuses a partition's record batch over
 * `message.max.bytes` (1 MiB by default); bounding the whole request keeps every partition under it
 * whatever the keys.
 */
export const MAX_SEND_BYTES = 900 * 1024;

export interface IntakePublisherDeps {
  publisher: Publisher;
  records: IntakeRecordRepository;
  /** The prefixed intake topic name. */
  topic: string;
  now: () => Date;
  timings?: IntakeTimings;
}

/**
 * The envelope a record was built from in this process, so publishing it does not parse the stored
 * JSON again (records read back from the database are parsed).
 */
const built = new WeakMap<IntakeRecord, Envelope>();
export function rememberEnvelope(record: IntakeRecord, envelope: Envelope): IntakeRecord {
  built.set(record, envelope);
  return record;
}
const envelopeOf = (record: IntakeRecord) => built.get(record) ?? (JSON.parse(record.envelope) as Envelope);

/** Splits envelopes into produce requests of at most `maxBytes` of envelope JSON each. */
export function splitBySize<T extends { envelope: string }>(items: readonly T[], maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item.envelope) + 256; // key and headers
    if (current.length > 0 && bytes + size > maxBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

interface Waiting {
  list: readonly IntakeRecord[];
  queuedAt: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Publishes intake records the caller holds the lease of, and resolves once Kafka acknowledged every
 * one (`acks: -1`). The envelope is the stored one, so every attempt sends the same event id.
 *
 * Group commit: the producer has one request in flight per broker (idempotent, ordered), so while a
 * send is in flight, the records of every other caller queue up and all go out in the next send —
 * no added delay when idle, one produce request for many callers under load. Once Kafka acked, the
 * outbox entries are queued for deletion (off the answer's path). On failure the leases of that
 * send's records are given back and every caller in it gets the error: the records stay pending for
 * the relay or a client retry.
 */
export function createIntakePublisher(deps: IntakePublisherDeps) {
  let queue: Waiting[] = [];
  let sending = false;
  const timings = deps.timings ?? noTimings;

  async function send(group: Waiting[]): Promise<void> {
    const list = group.flatMap((w) => w.list);
    const started = performance.now();
    for (const w of group) timings.observe('send.queue', started - w.queuedAt);
    timings.groupSize('send', group.length);
    try {
      for (const part of splitBySize(list, MAX_SEND_BYTES)) {
        const t0 = performance.now();
        await deps.publisher.publish(deps.topic, part.map(envelopeOf));
        timings.observe('send.kafka', performance.now() - t0);
      }
    } catch (error) {
      await deps.records
        .release(
          list.map((r) => r._id),
          deps.now(),
        )
        .catch(() => undefined);
      for (const w of group) w.reject(error);
      return;
    }
    // Deleted in the background; the leads already count as published for this instance.
    deps.records.markPublished(list.map((r) => r._id)).catch(() => undefined);
    for (const w of group) w.resolve();
  }

  async function pump(): Promise<void> {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0) {
        const group = queue;
        queue = [];
        await send(group);
      }
    } finally {
      sending = false;
    }
  }

  return function publishRecords(list: readonly IntakeRecord[]): Promise<void> {
    if (list.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      queue.push({ list, queuedAt: performance.now(), resolve, reject });
      void pump();
    });
  };
}

export type PublishRecords = ReturnType<typeof createIntakePublisher>;
