import { LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import {
  AuthConfig,
  BaseConfig,
  ConfigError,
  KafkaConfig,
  loadConfig,
  MongoConfig,
  type Env,
} from '@leadflow/platform/config';
import { Type, type Static } from '@sinclair/typebox';

/**
 * For local runs and tests only: the key that encrypts subscription secrets at rest. Production sets
 * `WEBHOOK_SECRETS_KEY` from a secret store, and start-up fails without it.
 */
export const LOCAL_DEV_SECRETS_KEY = 'leadflow-webhooks-local-demo-only-NOT-A-SECRET-000';

const HOUR_MS = 60 * 60 * 1000;

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic and consumer group; tests isolate themselves with it. */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /**
     * Whether this service relays the internal lead topics to the public stream. On by default: it
     * is the stream's one producer. Off only for a deployment that runs the relay elsewhere.
     */
    PUBLIC_STREAM_RELAY: Type.Boolean({ default: true }),
    /** Partitions handled in parallel by each consumer (the work is I/O-bound). */
    CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 12 }),
    /** Encrypts subscription secrets at rest (AES-256-GCM, key derived with SHA-256). */
    WEBHOOK_SECRETS_KEY: Type.String({ minLength: 32 }),
    /**
     * Accept `http://` and loopback/private targets. True outside production (local receivers in
     * tests and demos); false in production, where only public `https://` endpoints are accepted.
     */
    WEBHOOK_ALLOW_INSECURE_TARGETS: Type.Boolean({ default: false }),
    /** One HTTP attempt's budget (connect, send, response status). */
    DELIVERY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
    /** Delay before the second attempt; doubled after every failure (equal jitter). */
    RETRY_INITIAL_MS: Type.Integer({ minimum: 1, default: 30_000 }),
    /** Longest delay between two attempts. */
    RETRY_MAX_MS: Type.Integer({ minimum: 1, default: HOUR_MS }),
    /** How long after its first attempt a delivery is retried before it is given up. */
    RETRY_MAX_AGE_MS: Type.Integer({ minimum: 1, default: 24 * HOUR_MS }),
    /** How often the dispatcher looks for due deliveries when nothing woke it up. */
    DISPATCH_POLL_MS: Type.Integer({ minimum: 5, maximum: 60_000, default: 500 }),
    /** Deliveries in flight per instance. */
    DISPATCH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 512, default: 32 }),
    /**
     * How long a claimed attempt belongs to its instance; after it, another instance may take the
     * delivery over (the first crashed). Must exceed DELIVERY_TIMEOUT_MS.
     */
    DISPATCH_LEASE_MS: Type.Integer({ minimum: 1_000, default: 60_000 }),
    /** Default overlap during which the previous secret still signs deliveries after a rotation. */
    SECRET_ROTATION_OVERLAP_MS: Type.Integer({
      minimum: 0,
      maximum: 7 * 24 * HOUR_MS,
      default: 24 * HOUR_MS,
    }),
    /** Most events one replay request may re-deliver. */
    REPLAY_MAX_EVENTS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50_000 }),
    /** How long the event log keeps events for replay. */
    EVENT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 30 }),
  }),
]);

export type Config = Static<typeof ConfigSchema>;

/**
 * The only reader of `process.env` in this service. Demo secrets are filled in outside production
 * only, so a production deployment without `JWT_SECRET` or `WEBHOOK_SECRETS_KEY` fails at start-up.
 */
export function readConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const defaults: Record<string, string> = {
    SERVICE_PORT: '3007',
    MONGO_DB: 'leadflow_webhooks',
    ...(production
      ? {}
      : {
          JWT_SECRET: LOCAL_DEV_JWT_SECRET,
          WEBHOOK_SECRETS_KEY: LOCAL_DEV_SECRETS_KEY,
          WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
        }),
  };
  const merged: Record<string, string | undefined> = { ...defaults };
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') merged[key] = value;
  }
  const config = loadConfig(ConfigSchema, merged);
  const issues = [];
  if (config.DISPATCH_LEASE_MS <= config.DELIVERY_TIMEOUT_MS) {
    issues.push({ key: 'DISPATCH_LEASE_MS', reason: 'must exceed DELIVERY_TIMEOUT_MS' });
  }
  if (config.RETRY_MAX_MS < config.RETRY_INITIAL_MS) {
    issues.push({ key: 'RETRY_MAX_MS', reason: 'must be at least RETRY_INITIAL_MS' });
  }
  if (production && config.WEBHOOK_SECRETS_KEY === LOCAL_DEV_SECRETS_KEY) {
    issues.push({ key: 'WEBHOOK_SECRETS_KEY', reason: 'the local demo key cannot be used in production' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
