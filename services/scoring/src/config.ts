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
import { DEFAULT_PRIOR_SMOOTHING } from './domain/conversion-prior.js';
import { BrandPattern } from './domain/grade-dictionaries.js';

export const ConfigSchema = Type.Composite([
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  AuthConfig,
  Type.Object({
    /** Prepended to every topic and the consumer group, so tests and tenants of a shared cluster stay apart. */
    KAFKA_TOPIC_PREFIX: Type.String({ default: '' }),
    /** Dictionary brand used when the lead's `intent.brand` names no known brand and the OEM has no entry below. */
    DEFAULT_BRAND: Type.String({ pattern: BrandPattern, default: 'subaru' }),
    /** Per-OEM default brand, `oemId:brand` pairs, comma separated (`oem-gwm:gwm,oem-dfn:nissan`). */
    OEM_BRANDS: Type.Array(Type.String({ pattern: '^\\S+:[a-z0-9_-]{1,50}$' }), { default: [] }),
    /** OEMs whose preset dictionaries are written at start-up; any other OEM is seeded on first use. */
    GRADE_DICTIONARY_SEED_OEMS: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { default: [] }),
    /** Pseudo-leads at the parent level's rate when smoothing a conversion prior (0: raw rates). */
    CONVERSION_PRIOR_SMOOTHING: Type.Number({
      minimum: 0,
      maximum: 10_000,
      default: DEFAULT_PRIOR_SMOOTHING,
    }),
    /** Won and defeated leads older than this many months no longer move the priors. */
    CONVERSION_PRIOR_WINDOW_MONTHS: Type.Integer({ minimum: 1, maximum: 120, default: 24 }),
    /**
     * How long one instance reuses a cell's won/defeated counters (0: read them for every batch).
     * Priors are statistics over months: seconds of staleness cost nothing.
     */
    CONVERSION_PRIOR_CACHE_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
    /**
     * How long one instance reuses an OEM's active dictionaries (0: read them for every lead). A change
     * made through this instance applies at once; other instances pick it up within this delay.
     */
    GRADE_DICTIONARY_CACHE_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 5_000 }),
    /** Partitions handled in parallel by one instance (the work per lead is database-bound). */
    CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 6 }),
    /**
     * Most events of one partition handled together: the leads of a batch cost a fixed number of
     * database round trips and one producer request per 100.
     */
    CONSUMER_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1_000, default: 200 }),
  }),
]);
export type Config = Static<typeof ConfigSchema>;

/** The only reader of the environment in this service; applies the scoring service's defaults. */
export function readConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  return loadConfig(ConfigSchema, {
    ...env,
    SERVICE_PORT: env.SERVICE_PORT ?? '3003',
    MONGO_DB: env.MONGO_DB ?? 'leadflow_scoring',
    // The demo secret is public: only development and test may fall back to it.
    JWT_SECRET: env.JWT_SECRET ?? (production ? undefined : LOCAL_DEV_JWT_SECRET),
  });
}

/** `OEM_BRANDS` as a lookup. */
export function oemBrandMap(config: Pick<Config, 'OEM_BRANDS'>): ReadonlyMap<string, string> {
  return new Map(
    config.OEM_BRANDS.map((pair) => {
      const index = pair.lastIndexOf(':');
      return [pair.slice(0, index), pair.slice(index + 1)] as const;
    }),
  );
}
