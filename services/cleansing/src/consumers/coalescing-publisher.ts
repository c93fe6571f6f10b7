import type { Envelope } from '@leadflow/contracts/envelope';
import type { Publisher } from '@leadflow/platform/kafka';

interface Pending {
  topic: string;
  envelopes: readonly Envelope[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for outcome events. The platform publisher is idempotent with one request in flight,
 * so the handlers of a dozen partitions publishing one event each would queue behind each other, one
 * broker round trip apiece. Here, whatever is published while a request is in flight goes out
 * together in the next request (one per topic), and every caller resolves once the request carrying
 * its events is acknowledged (`acks: -1`), exactly as with the publisher itself: a handler still
 * resolves its offset only after its event is on the broker. A failed request rejects all of its
 * callers, whose messages are retried (event ids are deterministic, so consumers drop repeats).
 * Order is kept per caller; callers that wait for their publish (every handler does) keep their
 * partition's order.
 */
export function coalescingPublisher(inner: Publisher, maxEnvelopes = 500): Publisher {
  const queue: Pending[] = [];
  let running: Promise<void> | undefined;

  async function sendBatch(batch: Pending[]) {
    const byTopic = new Map<string, Pending[]>();
    for (const item of batch) byTopic.set(item.topic, [...(byTopic.get(item.topic) ?? []), item]);
    await Promise.all(
      [...byTopic].map(async ([topic, items]) => {
        try {
          await inner.publish(
            topic,
            items.flatMap((item) => item.envelopes),
          );
          for (const item of items) item.resolve();
        } catch (error) {
          for (const item of items) item.reject(error);
        }
      }),
    );
  }

  async function drain() {
    try {
      while (queue.length > 0) {
        const batch: Pending[] = [];
        let count = 0;
        while (
          queue.length > 0 &&
          (batch.length === 0 || count + queue[0]!.envelopes.length <= maxEnvelopes)
        ) {
          const next = queue.shift()!;
          batch.push(next);
          count += next.envelopes.length;
        }
        await sendBatch(batch);
      }
    } finally {
      // Reached synchronously after the queue was seen empty: a publish after this starts a new drain.
      running = undefined;
    }
  }

  return {
    connect: () => inner.connect(),
    publish(topic, envelopes, options) {
      // Per-call headers cannot be shared by a merged request: such calls go straight through.
      if (options?.headers !== undefined) return inner.publish(topic, envelopes, options);
      const list: readonly Envelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as Envelope];
      if (list.length === 0) return Promise.resolve();
      const done = new Promise<void>((resolve, reject) => {
        queue.push({ topic, envelopes: list, resolve, reject });
      });
      running ??= drain();
      return done;
    },
    async disconnect() {
      await running;
      await inner.disconnect();
    },
  };
}
