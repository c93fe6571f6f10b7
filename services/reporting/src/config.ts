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

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic and to the consumer group; tests isolate themselves with it. */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /**
     * Calendar of the daily KPI buckets. Dealers in the seed network all run on China time; a
     * per-dealer calendar (owned by nurturing) can replace this once it is published as an event.
     */
    REPORTING_TIME_ZONE: Type.String({ minLength: 1, default: 'Asia/Shanghai' }),
    /** Partitions handled in parallel by the projection consumer. */
    CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 6 }),
    /** How often a wallboard stream re-reads today's counters. */
    WALLBOARD_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
    /** Heartbeat of the counting journal; a process silent for 3 beats is taken as dead and its counting completed. */
    COUNTING_HEARTBEAT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
  }),
]);

export type Config = Static<typeof ConfigSchema>;

function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The only reader of `process.env` in this service. The demo JWT secret is filled in outside
 * production only, so a production deployment without `JWT_SECRET` fails at start-up.
 */
export function readConfig(env: Env = process.env): Config {
  const defaults: Record<string, string> = {
    SERVICE_PORT: '3006',
    MONGO_DB: 'leadflow_reporting',
    ...(env.NODE_ENV === 'production' ? {} : { JWT_SECRET: LOCAL_DEV_JWT_SECRET }),
  };
  const merged: Record<string, string | undefined> = { ...defaults };
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') merged[key] = value;
  }
  const config = loadConfig(ConfigSchema, merged);
  if (!isValidTimeZone(config.REPORTING_TIME_ZONE)) {
    throw new ConfigError([{ key: 'REPORTING_TIME_ZONE', reason: 'not an IANA time zone' }]);
  }
  return config;
}
