import { LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import {
  AuthConfig,
  BaseConfig,
  ConfigError,
  KafkaConfig,
  loadConfig,
  MongoConfig,
  TemporalConfig,
  type ConfigIssue,
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
    /** SMS: the local recorder (demo), an HTTP gateway, or none. */
    SMS_PROVIDER: Type.Union([Type.Literal('recorder'), Type.Literal('http'), Type.Literal('none')], {
      default: 'recorder',
    }),
    SMS_GATEWAY_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
    SMS_GATEWAY_TOKEN: Type.Optional(Type.String({ minLength: 1 })),
    /** E-mail: the local recorder (demo), SMTP, or none. */
    EMAIL_PROVIDER: Type.Union([Type.Literal('recorder'), Type.Literal('smtp'), Type.Literal('none')], {
      default: 'recorder',
    }),
    SMTP_HOST: Type.Optional(Type.String({ minLength: 1 })),
    SMTP_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
    SMTP_SECURE: Type.Boolean({ default: false }),
    SMTP_USER: Type.Optional(Type.String({ minLength: 1 })),
    SMTP_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
    SMTP_FROM: Type.String({ minLength: 3, default: 'leadflow@leadflow.local' }),
    /** Most events of one partition handled as one batch by the consumer. */
    CONSUMER_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1_000, default: 200 }),
    /**
     * Leads of one batch handled at once (each lead's events stay in order): concurrent Temporal
     * calls (`signalWithStart`, signals) per partition being consumed. 4 measured fastest of 1, 4
     * and 16; 16 floods the worker (README, "Batch mode, measured").
     */
    CONSUMER_BATCH_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
    /** Marketing messages per customer per 7-day window. */
    MESSAGE_FREQUENCY_CAP: Type.Integer({ minimum: 0, maximum: 100, default: 2 }),
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
  const config = loadConfig(ConfigSchema, merged);
  const issues: ConfigIssue[] = [];
  if (config.SMS_PROVIDER === 'http' && config.SMS_GATEWAY_URL === undefined)
    issues.push({ key: 'SMS_GATEWAY_URL', reason: 'required when SMS_PROVIDER is http' });
  if (config.EMAIL_PROVIDER === 'smtp' && config.SMTP_HOST === undefined)
    issues.push({ key: 'SMTP_HOST', reason: 'required when EMAIL_PROVIDER is smtp' });
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}
