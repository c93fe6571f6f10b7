export {
  createKafka,
  ensureTopics,
  type CreateKafkaOptions,
  type KafkaLogLevelName,
  type TopicSpec,
} from './client.js';
export {
  createPublisher,
  toKafkaMessage,
  type CreatePublisherOptions,
  type PublishOptions,
  type Publisher,
} from './publisher.js';
export {
  createConsumer,
  messageContextOf,
  type CreateConsumerOptions,
  type BatchContext,
  type BatchHandler,
  type EventConsumer,
  type MessageContext,
  type MessageHandler,
} from './consumer.js';
export {
  NonRetriableError,
  RetriableError,
  classifyError,
  isDuplicateKeyError,
  onlyDuplicateKeys,
  describeError,
  type ErrorClass,
} from './errors.js';
export { computeBackoff, DEFAULT_RETRY, type RetryPolicy } from './backoff.js';
export {
  createMongoProcessedEvents,
  createMemoryProcessedEvents,
  type ProcessedEvents,
  type MongoProcessedEvents,
} from './processed-events.js';
export { parseEnvelopeMinimal, type EnvelopeParser, type ParseResult } from './parse.js';
export { KafkaHeaders, dlqTopicOf, decodeHeaders } from './headers.js';
