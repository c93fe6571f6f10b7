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

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic and consumer group; tests isolate themselves with a random one. */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /**
     * How often the background sweep runs: it passes offers whose accept deadline expired to the next
     * dealer and relays events a crash left unpublished in an assignment's outbox.
     */
    SWEEP_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    /** Outbox entries younger than this are left to the request or consumer that wrote them. */
    OUTBOX_RELAY_AFTER_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 5_000 }),
    /**
     * How long routing trusts its in-memory copy of an OEM's network, policy and daily counts (0 = no
     * cache). This instance's own network and policy writes take effect at once; other instances'
     * within this time.
     */
    ROUTING_CACHE_MS: Type.Integer({ minimum: 0, maximum: 300_000, default: 5_000 }),
    /** Partitions the consumer works on in parallel. */
    CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 6 }),
    /**
     * Most events of one partition handled as one batch (the consumer's batch mode): a run of
     * `lead.scored` in it is allocated with one write per collection.
     */
    CONSUMER_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1_000, default: 200 }),
  }),
]);

export type Config = Static<typeof ConfigSchema>;

/** The only reader of the environment in this service: applies allocation's defaults, then validates. */
export function readConfig(env: Env = process.env): Config {
  // Blank counts as unset, as in loadConfig, so `SERVICE_PORT=` still gets allocation's port.
  const given = (key: string) => (env[key]?.trim() ? env[key] : undefined);
  const production = env.NODE_ENV === 'production';
  return loadConfig(ConfigSchema, {
    ...env,
    SERVICE_PORT: given('SERVICE_PORT') ?? '3004',
    MONGO_DB: given('MONGO_DB') ?? 'leadflow_allocation',
    // The demo secret is accepted only outside production; production must set JWT_SECRET (or fail).
    JWT_SECRET: given('JWT_SECRET') ?? (production ? undefined : LOCAL_DEV_JWT_SECRET),
  });
}
