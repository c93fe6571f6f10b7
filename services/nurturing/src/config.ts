import { LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import {
  AuthConfig,
  BaseConfig,
  KafkaConfig,
  loadConfig,
  MongoConfig,
  TemporalConfig,
  type Env,
} from '@leadflow/platform/config';
import { Type, type Static } from '@sinclair/typebox';

export const SERVICE_NAME = 'nurturing';
export const SERVICE_VERSION = '0.1.0';

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  TemporalConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic name and the consumer group (tests isolate themselves with it). */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /** IANA zone of the default business calendar for dealers without their own. */
    DEFAULT_TIME_ZONE: Type.String({ minLength: 1, default: 'Asia/Shanghai' }),
  }),
]);

export type Config = Static<typeof ConfigSchema>;

/** The only reader of the environment in this service. Applies nurturing's defaults, then validates. */
export function readConfig(env: Env = process.env): Config {
  const defaults: Record<string, string> = {
    SERVICE_PORT: '3005',
    MONGO_DB: 'leadflow_nurturing',
    TEMPORAL_TASK_QUEUE: 'leadflow-nurturing',
  };
  // The demo secret only ever outside production: a production deploy without JWT_SECRET must fail.
  if (env.NODE_ENV !== 'production') defaults.JWT_SECRET = LOCAL_DEV_JWT_SECRET;
  const merged: Record<string, string | undefined> = { ...env };
  for (const [key, value] of Object.entries(defaults)) {
    if (merged[key] === undefined || merged[key]?.trim() === '') merged[key] = value;
  }
  return loadConfig(ConfigSchema, merged);
}
