import {
  AuthConfig,
  BaseConfig,
  ConfigError,
  KafkaConfig,
  loadConfig,
  MongoConfig,
  type Env,
} from '@leadflow/platform/config';
import { LOCAL_DEV_API_KEY_PEPPER, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { Type, type Static } from '@sinclair/typebox';

/**
 * For local runs and tests only: production must set CUSTOMER_KEY_SECRET, otherwise anyone who knows
 * this string could turn customer keys on the intake topic back into phone numbers by brute force.
 */
export const LOCAL_DEV_CUSTOMER_KEY_SECRET = 'leadflow-local-demo-only-customer-key-secret-0000';

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic and the consumer group; tests isolate themselves with it. */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /** Pepper of the customer key HMAC (the intake partition key). */
    CUSTOMER_KEY_SECRET: Type.String({ minLength: 32 }),
    /** How often the relay looks for intake records whose publish did not complete. */
    RELAY_INTERVAL_MS: Type.Integer({ minimum: 50, default: 2_000 }),
    /**
     * How long a request owns its intake record's publish before the relay (or a retry) may take it
     * over. Longer than a normal publish, so the relay never races a live request.
     */
    PUBLISH_LEASE_MS: Type.Integer({ minimum: 100, default: 5_000 }),
    /**
     * Lead ids per outbox entry written ahead for single-lead requests, which then write only their
     * record before the Kafka send (one entry per this many leads, or per window); 0 writes every
     * group-committed write's entry inline, before its records.
     */
    SINGLE_RESERVE_IDS: Type.Integer({ minimum: 0, maximum: 500, default: 256 }),
    /**
     * How long single leads draw ids from an entry written ahead; its lease is this plus
     * PUBLISH_LEASE_MS, so every lead drawn keeps a full lease.
     */
    SINGLE_RESERVE_WINDOW_MS: Type.Integer({ minimum: 50, maximum: 10_000, default: 1_000 }),
    /** Producer retries before an intake request answers 503 (at least 1: the producer is idempotent). */
    PUBLISH_RETRIES: Type.Integer({ minimum: 1, maximum: 20, default: 3 }),
    /**
     * How long a source (by API key) and a channel stay cached per instance. A revocation or channel
     * change made through another instance takes effect within this time; 0 disables the cache.
     */
    LOOKUP_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000 }),
    /** Largest spreadsheet upload; larger ones get 413 without being stored. */
    IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, default: 20 * 1024 * 1024 }),
    /** How often the import runner looks for jobs (uploads also wake it at once). */
    IMPORT_POLL_MS: Type.Integer({ minimum: 50, default: 2_000 }),
    /** An import job's lease, renewed after every chunk; a crashed instance's job resumes after it. */
    IMPORT_LEASE_MS: Type.Integer({ minimum: 1_000, default: 60_000 }),
    /** Rows per intake batch and checkpoint (at most the batch ceiling). */
    IMPORT_CHUNK_ROWS: Type.Integer({ minimum: 1, maximum: 1_000, default: 500 }),
    /** Attempts before a job that keeps failing is marked failed. */
    IMPORT_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
    /** Calendar of the showroom traffic counters (receptionists log traffic for "today" only). */
    BUSINESS_TIME_ZONE: Type.String({ minLength: 1, default: 'Asia/Shanghai' }),
  }),
]);

export type Config = Static<typeof ConfigSchema>;

/** The only reader of `process.env` in this service. Demo secrets are filled in outside production only. */
export function readConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const devDefaults: Record<string, string> = production
    ? {}
    : {
        JWT_SECRET: LOCAL_DEV_JWT_SECRET,
        API_KEY_PEPPER: LOCAL_DEV_API_KEY_PEPPER,
        CUSTOMER_KEY_SECRET: LOCAL_DEV_CUSTOMER_KEY_SECRET,
      };
  const withDefaults: Record<string, string | undefined> = {
    SERVICE_PORT: '3001',
    MONGO_DB: 'leadflow_ingestion',
    ...devDefaults,
  };
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') withDefaults[key] = value;
  }
  const config = loadConfig(ConfigSchema, withDefaults);
  // AuthConfig leaves the pepper optional, and the platform falls back to the public demo pepper.
  if (production && config.API_KEY_PEPPER === undefined) {
    throw new ConfigError([{ key: 'API_KEY_PEPPER', reason: 'required in production' }]);
  }
  return config;
}
