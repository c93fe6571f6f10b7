import {
  AuthConfig,
  BaseConfig,
  KafkaConfig,
  loadConfig,
  MongoConfig,
  type Env,
} from '@leadflow/platform/config';
import { LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { Type, type Static } from '@sinclair/typebox';

/**
 * The HMAC key for customer keys in local development, identical to ingestion's so both services hash
 * a mobile to the same value. Production must set `CUSTOMER_KEY_SECRET` (enforced below).
 */
export const LOCAL_DEV_CUSTOMER_KEY_SECRET = 'leadflow-local-dev-customer-key-secret';

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic and the consumer group: tests and side-by-side stacks isolate themselves. */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /** Key of the keyed mobile/email hashes. Rotating it re-keys every customer: plan a re-hash first. */
    CUSTOMER_KEY_SECRET: Type.String({ minLength: 32 }),
    /** E.164 mobiles that must never become leads, comma-separated, added to the built-in rules. */
    BLOCKED_MOBILES: Type.Array(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' }), { default: [] }),
    /** Partitions handled in parallel by one instance. */
    CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 3 }),
    /** Most leads of one partition decided and written together (the consumer's batch mode). */
    CONSUMER_MAX_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 5_000, default: 500 }),
  }),
]);

export type Config = Static<typeof ConfigSchema>;

/** Reads and validates the environment once; the only reader of `process.env` in this service. */
export function readConfig(env: Env = process.env): Config {
  const defaults: Record<string, string> = {
    SERVICE_PORT: '3002',
    MONGO_DB: 'leadflow_cleansing',
    // Demo secrets only outside production, so a forgotten variable fails start-up there.
    ...(env.NODE_ENV === 'production'
      ? {}
      : { JWT_SECRET: LOCAL_DEV_JWT_SECRET, CUSTOMER_KEY_SECRET: LOCAL_DEV_CUSTOMER_KEY_SECRET }),
  };
  const merged: Record<string, string | undefined> = { ...env };
  for (const [key, value] of Object.entries(defaults)) {
    if ((merged[key] ?? '').trim() === '') merged[key] = value;
  }
  return loadConfig(ConfigSchema, merged);
}
