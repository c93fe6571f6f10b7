import type { Envelope } from '@leadflow/contracts/envelope';
import { inspect } from 'node:util';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import { uniqueGroup } from './names.js';

/** One Kafka record as a test sees it: key, value and headers decoded as UTF-8. */
export interface ReceivedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
  value: string | undefined;
  headers: Record<string, string>;
  /** The value parsed as an envelope, when it is one (DLQ and poison messages may not be). */
  envelope: Envelope | undefined;
}

export interface CollectOptions {
  brokers: string[];
  topic: string;
  /**
   * `true` (default): every record on the topic. `false`: only records appended after the collector
   * started, measured by the end offsets read at start, so nothing published right after `start`
   * can be missed while the consumer is still joining its group.
   */
  fromBeginning?: boolean;
}

export interface WaitOptions {
  count?: number;
  timeoutMs?: number;
}

export type EnvelopePredicate = (event: Envelope, message: ReceivedMessage) => boolean;
export type MessagePredicate = (message: ReceivedMessage) => boolean;

export interface EventCollector {
  /** Every envelope seen so far, in arrival order. */
  readonly events: readonly Envelope[];
  /** Every record seen so far, envelopes or not. */
  readonly messages: readonly ReceivedMessage[];
  /** Resolves with the first `count` (default 1) envelopes matching, seen so far or arriving later. */
  waitFor(predicate?: EnvelopePredicate, options?: WaitOptions): Promise<Envelope[]>;
  /** Same over raw records, for DLQ entries and headers. */
  waitForMessages(predicate?: MessagePredicate, options?: WaitOptions): Promise<ReceivedMessage[]>;
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(',') : value.toString();
  }
  return out;
}

function asEnvelope(value: string | undefined): Envelope | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'id' in parsed &&
      'type' in parsed &&
      'data' in parsed
    ) {
      return parsed as Envelope;
    }
  } catch {
    // Not JSON: still recorded as a raw message.
  }
  return undefined;
}

function describe(message: ReceivedMessage): string {
  const what = message.envelope
    ? `${message.envelope.type} id=${message.envelope.id}`
    : `raw ${JSON.stringify((message.value ?? '').slice(0, 80))}`;
  return `  p${message.partition}@${message.offset} key=${message.key ?? '-'} ${what}`;
}

async function startOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Right after a topic is auto-created its partition leaders are still being elected and the
    // offset request fails with a retriable error for a moment: retry rather than skip nothing.
    const deadline = Date.now() + 10_000;
    let lastError: unknown;
    while (Date.now() < deadline) {
      // A topic that does not exist yet has nothing to skip.
      if (!(await admin.listTopics()).includes(topic)) return new Map();
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    throw new Error(`could not read the end offsets of ${topic}`, { cause: lastError });
  } finally {
    await admin.disconnect();
  }
}

interface Waiter {
  matches: (message: ReceivedMessage) => boolean;
  count: number;
  found: ReceivedMessage[];
  resolve: (found: ReceivedMessage[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Starts a consumer on `topic` in a throwaway consumer group and records everything it reads, so a
 * test can start it, act, and then wait for what the system published. Call `stop()` in `afterAll`.
 */
export async function collectEvents(options: CollectOptions): Promise<EventCollector> {
  const { brokers, topic, fromBeginning = true } = options;
  const kafka = new Kafka({ clientId: 'leadflow-testkit', brokers, logLevel: logLevel.NOTHING });
  const skipBelow = fromBeginning ? new Map<number, bigint>() : await startOffsets(kafka, topic);
  const messages: ReceivedMessage[] = [];
  const events: Envelope[] = [];
  const waiters = new Set<Waiter>();
  let failure: Error | undefined;

  const settle = (waiter: Waiter, message: ReceivedMessage) => {
    if (!waiter.matches(message)) return;
    waiter.found.push(message);
    if (waiter.found.length >= waiter.count) {
      clearTimeout(waiter.timer);
      waiters.delete(waiter);
      waiter.resolve(waiter.found.slice(0, waiter.count));
    }
  };

  const failAll = (error: Error) => {
    failure = error;
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    waiters.clear();
  };

  const consumer: Consumer = kafka.consumer({ groupId: uniqueGroup('testkit'), maxWaitTimeInMs: 200 });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) failAll(new Error(`collector on ${topic} crashed: ${payload.error.message}`));
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic: t, partition, message }) => {
      const floor = skipBelow.get(partition);
      if (floor !== undefined && BigInt(message.offset) < floor) return;
      const value = message.value?.toString('utf8');
      const received: ReceivedMessage = {
        topic: t,
        partition,
        offset: message.offset,
        key: message.key?.toString('utf8'),
        value,
        headers: decodeHeaders(message.headers),
        envelope: asEnvelope(value),
      };
      messages.push(received);
      if (received.envelope) events.push(received.envelope);
      for (const waiter of [...waiters]) settle(waiter, received);
      return Promise.resolve();
    },
  });

  const waitForMessages = (predicate: MessagePredicate = () => true, waitOptions: WaitOptions = {}) => {
    const { count = 1, timeoutMs = DEFAULT_TIMEOUT_MS } = waitOptions;
    if (failure) return Promise.reject(failure);
    return new Promise<ReceivedMessage[]>((resolve, reject) => {
      const waiter: Waiter = {
        matches: predicate,
        count,
        found: [],
        resolve,
        reject,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          const seen = messages.slice(-20).map(describe).join('\n');
          reject(
            new Error(
              `Timed out after ${timeoutMs} ms waiting for ${count} matching message(s) on ${topic}: ` +
                `${waiter.found.length} matched, ${messages.length} seen${messages.length ? ` (last 20):\n${seen}` : '.'}`,
            ),
          );
        }, timeoutMs),
      };
      waiters.add(waiter);
      for (const message of messages) {
        if (!waiters.has(waiter)) break;
        settle(waiter, message);
      }
    });
  };

  let stopped: Promise<void> | undefined;
  return {
    events,
    messages,
    waitForMessages,
    async waitFor(predicate = () => true, waitOptions = {}) {
      const found = await waitForMessages(
        (m) => m.envelope !== undefined && predicate(m.envelope, m),
        waitOptions,
      );
      return found.map((m) => m.envelope).filter((e): e is Envelope => e !== undefined);
    },
    stop() {
      stopped ??= (async () => {
        failAll(new Error(`collector on ${topic} stopped`));
        await consumer.disconnect();
      })();
      return stopped;
    },
  };
}

export interface WaitForEventsOptions extends CollectOptions, WaitOptions {
  predicate?: EnvelopePredicate;
}

/**
 * Reads `topic` until `count` envelopes match `predicate` and returns them; disconnects either way.
 * The timeout error lists what was seen, which is usually the fastest route to the bug.
 */
export async function waitForEvents(options: WaitForEventsOptions): Promise<Envelope[]> {
  const collector = await collectEvents(options);
  try {
    return await collector.waitFor(options.predicate, options);
  } finally {
    await collector.stop();
  }
}

export interface WaitForMessagesOptions extends CollectOptions, WaitOptions {
  predicate?: MessagePredicate;
}

/** {@link waitForEvents} over raw records: DLQ entries, headers, non-envelope values. */
export async function waitForMessages(options: WaitForMessagesOptions): Promise<ReceivedMessage[]> {
  const collector = await collectEvents(options);
  try {
    return await collector.waitForMessages(options.predicate, options);
  } finally {
    await collector.stop();
  }
}

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Included in the timeout error. */
  description?: string;
}

/**
 * Polls `fn` until it returns something other than `undefined`, `null` or `false`, and returns
 * that. A throw counts as "not yet" (so `expect` inside `fn` works); the last error is reported on
 * timeout. For HTTP and database state that settles asynchronously.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: PollOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, intervalMs = 100, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const reason =
    lastError === undefined
      ? `last value ${String(lastValue)}`
      : `last error: ${lastError instanceof Error ? lastError.message : inspect(lastError)}`;
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}; ${reason}`, {
    cause: lastError,
  });
}
