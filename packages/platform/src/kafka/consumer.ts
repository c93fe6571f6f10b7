import type { Envelope } from '@leadflow/contracts/envelope';
import { Partitioners, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { extractTraceContext, SpanKind, withSpan } from '../telemetry/index.js';
import { computeBackoff, DEFAULT_RETRY, type RetryPolicy } from './backoff.js';
import { classifyError, describeError, errorClassName } from './errors.js';
import { decodeHeaders, dlqTopicOf, KafkaHeaders } from './headers.js';
import { consumerMetrics, type ConsumerMetrics } from './metrics.js';
import { parseEnvelopeMinimal, type EnvelopeParser } from './parse.js';
import type { ProcessedEvents } from './processed-events.js';

/** What a handler knows about the message it is handling, besides the envelope. */
export interface MessageContext {
  topic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  /** Child logger carrying `correlationId`, `eventId`, `eventType`, topic, partition and offset. */
  logger: Logger;
  /** Aborted when a shutdown's grace period ran out: abandon the work, the message is redelivered. */
  signal: AbortSignal;
  /** 1 on the first delivery to this handler, then 2, 3, … on retries. */
  attempt: number;
  /**
   * Backpressure from the handler (a downstream is saturated): once this message is done, stop
   * fetching this partition for `ms`, then resume. Ordering is kept: nothing after it is handled early.
   */
  pausePartition: (ms: number) => void;
}

export type MessageHandler = (envelope: Envelope, ctx: MessageContext) => Promise<void>;

/** What a batch handler knows about the batch it is handling, besides the envelopes. */
export interface BatchContext {
  topic: string;
  partition: number;
  /** Offsets of the first and last message of the batch (invalid ones included). */
  firstOffset: string;
  lastOffset: string;
  logger: Logger;
  /** Aborted when a shutdown's grace period ran out: abandon the work, the batch is redelivered. */
  signal: AbortSignal;
  /** 1 for a whole batch; a batch that failed is re-run one envelope at a time with attempts 1, 2, … */
  attempt: number;
  /** Whether this call is the per-message fallback of a failed batch (always one envelope). */
  fallback: boolean;
  /** Keeps the group membership alive during long work. */
  heartbeat: () => Promise<void>;
}

/**
 * Handles the valid, not yet processed envelopes of one partition's batch, in offset order. It must
 * be idempotent (a batch is redelivered after a crash), and it is also called with a single envelope
 * when a batch failed (see `batchHandler`).
 */
export type BatchHandler = (envelopes: Envelope[], ctx: BatchContext) => Promise<void>;

/**
 * The per-message context of one envelope a batch handler handles on its own (a chunk's envelope
 * given to per-message logic): the batch's topic, partition and first offset, a logger naming the
 * event, and no backpressure (a per-message-mode feature).
 */
export function messageContextOf(ctx: BatchContext, envelope: Envelope): MessageContext {
  return {
    topic: ctx.topic,
    partition: ctx.partition,
    offset: ctx.firstOffset,
    headers: {},
    logger: ctx.logger.child({ eventId: envelope.id, eventType: envelope.type }),
    signal: ctx.signal,
    attempt: ctx.attempt,
    pausePartition: () => undefined,
  };
}

export interface CreateConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  registry?: Registry;
  /** Validates the JSON value into an envelope; default {@link parseEnvelopeMinimal}. */
  parse?: EnvelopeParser;
  /** Per-message mode: one call per message, in partition order. Exactly one of `handler`/`batchHandler`. */
  handler?: MessageHandler;
  /**
   * Opt-in batch mode: one call per chunk (at most `maxBatchSize`) of a kafkajs batch, i.e. of one
   * partition's fetched messages. Parsing and validation stay per message (a poison message is
   * dead-lettered on its own and left out of the chunk), dedup is one bulk look-up before and one bulk
   * mark after, and offsets are resolved only once the chunk succeeded. When the chunk fails, its
   * envelopes are re-run one at a time through the same handler with the per-message retry policy
   * and dead-lettering, so one bad event neither blocks nor loses the others.
   */
  batchHandler?: BatchHandler;
  /** Largest chunk handed to `batchHandler`; default 1,000. */
  maxBatchSize?: number;
  /** Skips events the group already processed. Optional: handlers are idempotent anyway. */
  dedup?: ProcessedEvents;
  retry?: Partial<RetryPolicy>;
  /** Partitions handled in parallel (kafkajs `partitionsConsumedConcurrently`); default 3. */
  concurrency?: number;
  /** Where a group without committed offsets starts; default true so no event is skipped. */
  fromBeginning?: boolean;
  sessionTimeout?: number;
  heartbeatInterval?: number;
  /**
   * Longest broker wait on an empty fetch; default 1 s rather than kafkajs' 5 s because `stop()`
   * waits for the fetch in flight, and a short wait keeps shutdowns and rolling deploys quick.
   */
  maxWaitTimeInMs?: number;
  /**
   * Checked before each message: while it returns true the partition is paused, re-checked every
   * `backpressureCheckMs` (default 1 s), and resumed once it returns false.
   */
  backpressure?: () => boolean | Promise<boolean>;
  backpressureCheckMs?: number;
  /** Longest time handled offsets stay uncommitted inside a long batch; default 2 s. */
  commitIntervalMs?: number;
  /** How long `stop()` lets the in-flight handler finish before aborting its signal; default 15 s. */
  shutdownGraceMs?: number;
}

export interface EventConsumer {
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight message finish, commits handled offsets, leaves the group. */
  stop(): Promise<void>;
  /** True while at least one partition is paused for backpressure. */
  paused(): boolean;
}

type Outcome = { kind: 'done'; pauseMs: number } | { kind: 'abandoned' };

type DlqReason = 'invalid-json' | 'invalid-envelope' | 'non-retriable' | 'retries-exhausted';

/** Heartbeat at least this often while sleeping between retries, well inside any session timeout. */
const HEARTBEAT_WHILE_WAITING_MS = 1_000;

/**
 * A consumer-group member with Leadflow's delivery semantics:
 * - at least once: a message's offset is resolved only after its handler succeeded (or it was
 *   dead-lettered), and only resolved offsets are committed, so a crash redelivers unfinished work;
 * - a poison message never stops a partition: unparseable values, invalid envelopes and
 *   {@link NonRetriableError}s go to `<topic>.dlq` at once, other failures after `retry.attempts`
 *   tries with jittered exponential backoff (heartbeating meanwhile), then the next message runs;
 * - messages of one partition are handled one at a time, in order, because keys carry the ordering
 *   (customer for intake, lead for lifecycle); parallelism comes from partitions.
 */
export function createConsumer(options: CreateConsumerOptions): EventConsumer {
  const { kafka, groupId } = options;
  if ((options.handler === undefined) === (options.batchHandler === undefined)) {
    throw new Error(`consumer ${groupId}: give exactly one of handler and batchHandler`);
  }
  const batchHandler = options.batchHandler;
  // Per-message mode only; batch mode builds its per-message fallback in eachBatchInChunks.
  const handler: MessageHandler =
    options.handler ?? (() => Promise.reject(new Error('per-message handler used in batch mode')));
  const maxBatchSize = Math.max(1, options.maxBatchSize ?? 1_000);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const parse = options.parse ?? parseEnvelopeMinimal;
  const log = options.logger.child({ component: 'kafka-consumer', groupId });
  const metrics: ConsumerMetrics | undefined =
    options.registry === undefined ? undefined : consumerMetrics(options.registry);
  const backpressureCheckMs = options.backpressureCheckMs ?? 1_000;
  const shutdownGraceMs = options.shutdownGraceMs ?? 15_000;

  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: options.sessionTimeout ?? 30_000,
    heartbeatInterval: options.heartbeatInterval ?? 3_000,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 1_000,
    allowAutoTopicCreation: false,
  });
  const dlqProducer: Producer = kafka.producer({
    // kafkajs' default (Java-compatible murmur2), named so it does not warn on every start.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5_000 },
  });

  // Aborted by stop(): interrupts backoff sleeps at once (the message stays unresolved).
  const stopping = new AbortController();
  // Aborted when the shutdown grace runs out: handed to handlers as ctx.signal.
  const handlerAbort = new AbortController();
  const pauseTimers = new Map<string, NodeJS.Timeout>();
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let stopPromise: Promise<void> | undefined;

  function sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (stopping.signal.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        stopping.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      stopping.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Waits `ms` in slices, heartbeating so the coordinator does not evict us during long retries. */
  async function sleepWithHeartbeat(ms: number, heartbeat: () => Promise<void>): Promise<boolean> {
    let remaining = ms;
    while (remaining > 0) {
      const slice = Math.min(remaining, HEARTBEAT_WHILE_WAITING_MS);
      if (!(await sleep(slice))) return false;
      remaining -= slice;
      await heartbeat();
    }
    return true;
  }

  function pauseFor(
    topic: string,
    partition: number,
    pause: () => () => void,
    resumeWhen: () => Promise<boolean>,
    checkMs: number,
  ) {
    const id = `${topic}:${partition}`;
    if (pauseTimers.has(id) || stopping.signal.aborted) return;
    const resume = pause();
    log.info({ topic, partition }, 'partition paused for backpressure');
    const check = () => {
      resumeWhen().then(
        (ready) => {
          if (!pauseTimers.has(id)) return;
          if (ready) {
            pauseTimers.delete(id);
            resume();
            log.info({ topic, partition }, 'partition resumed');
          } else {
            pauseTimers.set(id, setTimeout(check, checkMs));
          }
        },
        (error: unknown) => {
          log.error({ err: error }, 'backpressure check failed; resuming');
          pauseTimers.delete(id);
          resume();
        },
      );
    };
    pauseTimers.set(id, setTimeout(check, checkMs));
  }

  async function sendToDlq(
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: DlqReason,
    detail: { text: string; errorClass: string; attempts: number },
  ): Promise<void> {
    // Same key and value as the original, so a replay tool can re-publish it byte for byte.
    await dlqProducer.send({
      topic: dlqTopicOf(topic),
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...message.headers,
            [KafkaHeaders.dlqReason]: detail.text,
            [KafkaHeaders.dlqErrorClass]: detail.errorClass,
            [KafkaHeaders.dlqSourceTopic]: topic,
            [KafkaHeaders.dlqSourcePartition]: String(partition),
            [KafkaHeaders.dlqSourceOffset]: message.offset,
            [KafkaHeaders.dlqGroup]: groupId,
            [KafkaHeaders.dlqAttempts]: String(detail.attempts),
            [KafkaHeaders.dlqAt]: new Date().toISOString(),
          },
        },
      ],
    });
    metrics?.dlq.inc({ topic, group: groupId, reason });
    log.warn(
      { topic, partition, offset: message.offset, reason, dlqReason: detail.text, attempts: detail.attempts },
      'message sent to the dead-letter topic',
    );
  }

  interface ParsedMessage {
    envelope: Envelope;
    headers: Record<string, string>;
    msgLog: Logger;
  }

  /** Parses and validates one message; an invalid one is dead-lettered here and yields undefined. */
  async function parseMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<ParsedMessage | undefined> {
    const labels = { topic, group: groupId };
    metrics?.consumed.inc(labels);

    let json: unknown;
    try {
      if (message.value === null) throw new Error('message has no value');
      json = JSON.parse(message.value.toString('utf8'));
    } catch (error) {
      await sendToDlq(topic, partition, message, 'invalid-json', {
        text: `invalid JSON: ${describeError(error)}`,
        errorClass: 'InvalidJsonError',
        attempts: 0,
      });
      return undefined;
    }
    let parsed: ReturnType<EnvelopeParser>;
    try {
      parsed = parse(json);
    } catch (error) {
      parsed = { ok: false, errors: [describeError(error)] };
    }
    if (!parsed.ok) {
      await sendToDlq(topic, partition, message, 'invalid-envelope', {
        text: `invalid envelope: ${parsed.errors.join('; ')}`.slice(0, 1_000),
        errorClass: 'InvalidEnvelopeError',
        attempts: 0,
      });
      return undefined;
    }
    const envelope = parsed.envelope;
    const headers = decodeHeaders(message.headers);
    const msgLog = log.child({
      correlationId: envelope.correlationId,
      eventId: envelope.id,
      eventType: envelope.type,
      topic,
      partition,
      offset: message.offset,
    });
    const ageSeconds = (Date.now() - Date.parse(envelope.occurredAt)) / 1_000;
    if (Number.isFinite(ageSeconds) && ageSeconds >= 0) {
      metrics?.eventAge.observe({ ...labels, type: envelope.type }, ageSeconds);
    }
    return { envelope, headers, msgLog };
  }

  async function processMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<Outcome> {
    const parsed = await parseMessage(topic, partition, message);
    if (parsed === undefined) return { kind: 'done', pauseMs: 0 };
    return handleParsed(topic, partition, message, parsed, heartbeat, handler);
  }

  /** The per-message path: span, dedup, the handler with retries and backoff, then the DLQ. */
  function handleParsed(
    topic: string,
    partition: number,
    message: KafkaMessage,
    { envelope, headers, msgLog }: ParsedMessage,
    heartbeat: () => Promise<void>,
    handle: MessageHandler,
  ): Promise<Outcome> {
    const labels = { topic, group: groupId };
    const done: Outcome = { kind: 'done', pauseMs: 0 };
    return withSpan(
      `${topic} process`,
      {
        'messaging.system': 'kafka',
        'messaging.operation': 'process',
        'messaging.destination.name': topic,
        'messaging.kafka.consumer.group': groupId,
        'messaging.kafka.destination.partition': partition,
        'messaging.kafka.message.offset': Number(message.offset),
        'messaging.message.id': envelope.id,
        'leadflow.event.type': envelope.type,
        'leadflow.correlation_id': envelope.correlationId,
      },
      async (span): Promise<Outcome> => {
        for (let attempt = 1; ; attempt += 1) {
          let pauseMs = 0;
          try {
            if (options.dedup !== undefined && (await options.dedup.has(groupId, envelope.id))) {
              metrics?.skipped.inc(labels);
              msgLog.debug('event already processed by this group; skipped');
              return done;
            }
            const startedAt = performance.now();
            await handle(envelope, {
              topic,
              partition,
              offset: message.offset,
              headers,
              logger: msgLog,
              signal: handlerAbort.signal,
              attempt,
              pausePartition: (ms) => {
                pauseMs = Math.max(pauseMs, ms);
              },
            });
            metrics?.handlerDuration.observe(labels, (performance.now() - startedAt) / 1_000);
            // Marked only after success: a crash in between redelivers, and the handler's own state
            // guards make the second run a no-op.
            if (options.dedup !== undefined) await options.dedup.add(groupId, envelope.id);
            metrics?.handled.inc(labels);
            return { kind: 'done', pauseMs };
          } catch (error) {
            const errorClass = classifyError(error);
            metrics?.failed.inc({ ...labels, error_class: errorClass });
            span.setAttribute('leadflow.attempts', attempt);
            if (errorClass === 'non-retriable' || attempt >= policy.attempts) {
              await sendToDlq(
                topic,
                partition,
                message,
                errorClass === 'non-retriable' ? 'non-retriable' : 'retries-exhausted',
                {
                  text: describeError(error),
                  errorClass: errorClassName(error),
                  attempts: attempt,
                },
              );
              msgLog.warn({ err: error, attempt }, 'handler failed for good; event dead-lettered');
              return done;
            }
            const delayMs = computeBackoff(attempt, policy);
            msgLog.warn({ err: error, attempt, delayMs }, 'handler failed; retrying');
            if (!(await sleepWithHeartbeat(delayMs, heartbeat))) return { kind: 'abandoned' };
          }
        }
      },
      extractTraceContext(message.headers ?? {}),
      SpanKind.CONSUMER,
    );
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const heartbeat = () => payload.heartbeat();
    const pause = () => payload.pause();
    for (const message of batch.messages) {
      if (stopping.signal.aborted || !payload.isRunning() || payload.isStale()) break;
      const backpressure = options.backpressure;
      if (backpressure !== undefined && (await backpressure())) {
        pauseFor(topic, partition, pause, async () => !(await backpressure()), backpressureCheckMs);
        break;
      }
      const outcome = await processMessage(topic, partition, message, heartbeat);
      if (outcome.kind === 'abandoned') break;
      payload.resolveOffset(message.offset);
      metrics?.lag.set(
        { topic, partition: String(partition), group: groupId },
        Math.max(0, Number(batch.highWatermark) - Number(message.offset) - 1),
      );
      await payload.commitOffsetsIfNecessary();
      await heartbeat();
      if (outcome.pauseMs > 0) {
        const until = Date.now() + outcome.pauseMs;
        pauseFor(topic, partition, pause, () => Promise.resolve(Date.now() >= until), outcome.pauseMs);
        break;
      }
    }
  }

  function updateLag(topic: string, partition: number, highWatermark: string, offset: string) {
    metrics?.lag.set(
      { topic, partition: String(partition), group: groupId },
      Math.max(0, Number(highWatermark) - Number(offset) - 1),
    );
  }

  /** Runs one chunk through the batch handler; false when it failed (the caller falls back). */
  async function runChunk(
    topic: string,
    partition: number,
    chunk: KafkaMessage[],
    items: { message: KafkaMessage; parsed: ParsedMessage }[],
    heartbeat: () => Promise<void>,
    handle: BatchHandler,
  ): Promise<boolean> {
    const labels = { topic, group: groupId };
    const envelopes = items.map((item) => item.parsed.envelope);
    const firstOffset = chunk[0]?.offset ?? '0';
    const lastOffset = chunk[chunk.length - 1]?.offset ?? firstOffset;
    const batchLog = log.child({ topic, partition, firstOffset, lastOffset, size: envelopes.length });
    return withSpan(
      `${topic} process batch`,
      {
        'messaging.system': 'kafka',
        'messaging.operation': 'process',
        'messaging.destination.name': topic,
        'messaging.kafka.consumer.group': groupId,
        'messaging.kafka.destination.partition': partition,
        'messaging.batch.message_count': envelopes.length,
      },
      async (span): Promise<boolean> => {
        const startedAt = performance.now();
        try {
          await handle(envelopes, {
            topic,
            partition,
            firstOffset,
            lastOffset,
            logger: batchLog,
            signal: handlerAbort.signal,
            attempt: 1,
            fallback: false,
            heartbeat,
          });
          metrics?.handlerDuration.observe(labels, (performance.now() - startedAt) / 1_000);
          // Marked only after success, as in per-message mode; a failed mark is a failed chunk (the
          // per-message fallback re-runs the idempotent handler and marks one by one).
          if (options.dedup !== undefined) {
            await addMany(
              options.dedup,
              envelopes.map((e) => e.id),
            );
          }
        } catch (error) {
          const errorClass = classifyError(error);
          metrics?.failed.inc({ ...labels, error_class: errorClass });
          span.setAttribute('leadflow.batch_failed', true);
          batchLog.warn({ err: error }, 'batch handler failed; handling its messages one at a time');
          return false;
        }
        metrics?.handled.inc(labels, envelopes.length);
        return true;
      },
      undefined,
      SpanKind.CONSUMER,
    );
  }

  async function hasMany(dedup: ProcessedEvents, ids: string[]): Promise<Set<string>> {
    if (dedup.hasMany !== undefined) return dedup.hasMany(groupId, ids);
    const seen = new Set<string>();
    for (const id of ids) if (await dedup.has(groupId, id)) seen.add(id);
    return seen;
  }

  async function addMany(dedup: ProcessedEvents, ids: string[]): Promise<void> {
    if (dedup.addMany !== undefined) return dedup.addMany(groupId, ids);
    for (const id of ids) await dedup.add(groupId, id);
  }

  /**
   * Batch mode: the kafkajs batch in chunks of `maxBatchSize`. Per chunk: parse each message (invalid
   * ones dead-lettered), skip those the dedup store has seen, hand the rest to the batch handler at
   * once; if that fails, re-run them one at a time with the per-message retries and dead-lettering.
   * The chunk's last offset is resolved only when every message of it is done.
   */
  async function eachBatchInChunks(payload: EachBatchPayload, handle: BatchHandler): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const heartbeat = () => payload.heartbeat();
    const pause = () => payload.pause();
    const labels = { topic, group: groupId };
    for (let start = 0; start < batch.messages.length; start += maxBatchSize) {
      if (stopping.signal.aborted || !payload.isRunning() || payload.isStale()) break;
      const backpressure = options.backpressure;
      if (backpressure !== undefined && (await backpressure())) {
        pauseFor(topic, partition, pause, async () => !(await backpressure()), backpressureCheckMs);
        break;
      }
      const chunk = batch.messages.slice(start, start + maxBatchSize);
      let items: { message: KafkaMessage; parsed: ParsedMessage }[] = [];
      for (const message of chunk) {
        const parsed = await parseMessage(topic, partition, message);
        if (parsed !== undefined) items.push({ message, parsed });
      }
      if (options.dedup !== undefined && items.length > 0) {
        const seen = await hasMany(
          options.dedup,
          items.map((item) => item.parsed.envelope.id),
        );
        if (seen.size > 0) {
          metrics?.skipped.inc(labels, items.filter((item) => seen.has(item.parsed.envelope.id)).length);
          items = items.filter((item) => !seen.has(item.parsed.envelope.id));
        }
      }
      // The last message of the chunk that is done; everything up to it may be committed.
      let doneThrough = chunk[chunk.length - 1];
      if (items.length > 0 && !(await runChunk(topic, partition, chunk, items, heartbeat, handle))) {
        if (stopping.signal.aborted) break; // nothing resolved: the chunk is redelivered
        for (const item of items) {
          const outcome = await handleParsed(
            topic,
            partition,
            item.message,
            item.parsed,
            heartbeat,
            (envelope, ctx) =>
              handle([envelope], {
                topic,
                partition,
                firstOffset: ctx.offset,
                lastOffset: ctx.offset,
                logger: ctx.logger,
                signal: ctx.signal,
                attempt: ctx.attempt,
                fallback: true,
                heartbeat,
              }),
          );
          if (outcome.kind === 'abandoned') {
            const index = chunk.indexOf(item.message);
            doneThrough = index > 0 ? chunk[index - 1] : undefined;
            break;
          }
        }
      }
      if (doneThrough === undefined) break;
      payload.resolveOffset(doneThrough.offset);
      updateLag(topic, partition, batch.highWatermark, doneThrough.offset);
      await payload.commitOffsetsIfNecessary();
      await heartbeat();
      if (doneThrough !== chunk[chunk.length - 1]) break;
    }
  }

  return {
    async start() {
      if (state !== 'idle') throw new Error(`consumer ${groupId} cannot start twice`);
      state = 'running';
      consumer.on(consumer.events.CRASH, (event) => {
        log.error({ err: event.payload.error, restart: event.payload.restart }, 'kafka consumer crashed');
      });
      await dlqProducer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        // kafkajs commits only offsets we resolved: at the end of each batch and every commitIntervalMs.
        autoCommit: true,
        autoCommitInterval: options.commitIntervalMs ?? 2_000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.concurrency ?? 3,
        eachBatch:
          batchHandler === undefined ? eachBatch : (payload) => eachBatchInChunks(payload, batchHandler),
      });
      log.info({ topics: options.topics }, 'consumer started');
    },

    stop() {
      if (state !== 'running') {
        state = 'stopped';
        return Promise.resolve();
      }
      stopPromise ??= (async () => {
        stopping.abort();
        for (const timer of pauseTimers.values()) clearTimeout(timer);
        pauseTimers.clear();
        const grace = setTimeout(() => handlerAbort.abort(), shutdownGraceMs);
        try {
          // kafkajs' disconnect waits for the running batch (which breaks after its in-flight
          // message), commits what was resolved, then leaves the group.
          await consumer.disconnect();
        } finally {
          clearTimeout(grace);
          await dlqProducer.disconnect();
          state = 'stopped';
          log.info('consumer stopped');
        }
      })();
      return stopPromise;
    },

    paused: () => pauseTimers.size > 0,
  };
}
