import { Kafka, logLevel as KafkaLogLevel, type ITopicConfig, type LogEntry, type logLevel } from 'kafkajs';
import type { Logger } from 'pino';
import { dlqTopicOf } from './headers.js';

export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

const LEVELS: Record<KafkaLogLevelName, logLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

export interface CreateKafkaOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** kafkajs' own log threshold; `warn` by default because its info level logs every rebalance step. */
  logLevel?: KafkaLogLevelName;
  connectionTimeout?: number;
  requestTimeout?: number;
}

/** A kafkajs client whose logs go through the service's pino logger (`component: kafkajs`). */
export function createKafka(options: CreateKafkaOptions): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  const logCreator = () => (entry: LogEntry) => {
    const { message, ...extra } = entry.log;
    const fields = { kafkaNamespace: entry.namespace, ...extra };
    switch (entry.level) {
      case KafkaLogLevel.ERROR:
        log.error(fields, message);
        break;
      case KafkaLogLevel.WARN:
        log.warn(fields, message);
        break;
      case KafkaLogLevel.INFO:
        log.info(fields, message);
        break;
      case KafkaLogLevel.DEBUG:
        log.debug(fields, message);
        break;
      case KafkaLogLevel.NOTHING:
        break;
    }
  };
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: LEVELS[options.logLevel ?? 'warn'],
    logCreator,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    requestTimeout: options.requestTimeout ?? 30_000,
  });
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  /** 1 on the single local broker; production sets 3. */
  replicationFactor?: number;
  configEntries?: ITopicConfig['configEntries'];
}

/**
 * Creates each topic and its `<topic>.dlq` when missing. Idempotent: topics that exist (created by
 * another instance starting at the same time, or a previous run) are left as they are.
 */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  // On a fresh broker several services create topics at the same moment; the metadata of a topic
  // another instance just created can answer "does not host this topic-partition" until its leader
  // is elected. Those errors are retriable: try again for a while rather than fail the start.
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await ensureTopicsOnce(kafka, topics);
      return;
    } catch (error) {
      if (!isRetriable(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2_000)));
    }
  }
}

function isRetriable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'retriable' in error && error.retriable === true;
}

async function ensureTopicsOnce(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted: ITopicConfig[] = [];
    for (const spec of topics) {
      for (const name of [spec.topic, dlqTopicOf(spec.topic)]) {
        if (existing.has(name) || wanted.some((t) => t.topic === name)) continue;
        wanted.push({
          topic: name,
          numPartitions: spec.numPartitions,
          replicationFactor: spec.replicationFactor ?? 1,
          ...(spec.configEntries === undefined ? {} : { configEntries: spec.configEntries }),
        });
      }
    }
    if (wanted.length === 0) return;
    try {
      await admin.createTopics({ topics: wanted, waitForLeaders: true });
    } catch (error) {
      if (!isTopicAlreadyExists(error)) throw error;
    }
    // Created here or by a concurrent instance: return only once every partition has a leader.
    await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic) });
  } finally {
    await admin.disconnect();
  }
}

function isTopicAlreadyExists(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('type' in error && error.type === 'TOPIC_ALREADY_EXISTS') return true;
  // createTopics reports per-topic failures in `errors`; all of them "already exists" is success.
  if ('errors' in error && Array.isArray(error.errors) && error.errors.length > 0) {
    return (error.errors as unknown[]).every(
      (e) => typeof e === 'object' && e !== null && 'type' in e && e.type === 'TOPIC_ALREADY_EXISTS',
    );
  }
  return false;
}
