import type { Envelope } from '@leadflow/contracts/envelope';
import type { Publisher } from '@leadflow/platform/kafka';
import type { IntakeRecord, IntakeRecordRepository } from '../repositories/intake-record.repository.js';

/** Messages per produce request: keeps one request well under the broker's 1 MiB batch limit. */
const CHUNK = 250;

export interface IntakePublisherDeps {
  publisher: Publisher;
  records: IntakeRecordRepository;
  /** The prefixed intake topic name. */
  topic: string;
  now: () => Date;
}

/**
 * Publishes intake records the caller holds the lease of, then marks them published (drops their
 * outbox entries). The envelope is
 * the stored JSON, so every attempt sends the same event id. On failure the leases are given back and
 * the error rethrown: the records stay pending for the relay or a client retry.
 */
export function createIntakePublisher(deps: IntakePublisherDeps) {
  return async function publishRecords(list: readonly IntakeRecord[]): Promise<void> {
    if (list.length === 0) return;
    const ids = list.map((r) => r._id);
    // The key lookups are written beside the Kafka send, off the critical path. They only speed up
    // finding a repeat (a missing one is found by the slower query and repaired), so their failure
    // must not turn a delivered lead into a 503.
    const keys = deps.records.writeKeys(list).catch(() => undefined);
    try {
      for (let i = 0; i < list.length; i += CHUNK) {
        const envelopes = list.slice(i, i + CHUNK).map((r) => JSON.parse(r.envelope) as Envelope);
        await deps.publisher.publish(deps.topic, envelopes);
      }
      await keys;
    } catch (error) {
      await keys;
      await deps.records.release(ids, deps.now()).catch(() => undefined);
      throw error;
    }
    await deps.records.markPublished(ids);
  };
}

export type PublishRecords = ReturnType<typeof createIntakePublisher>;
