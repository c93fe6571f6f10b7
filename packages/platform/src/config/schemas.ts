import { Type } from '@sinclair/typebox';

/**
 * Env schema fragments shared by every service. A service composes the ones it needs:
 * `Type.Composite([BaseConfig, MongoConfig, Type.Object({ ... })])` and passes it to `loadConfig`.
 */

export const NodeEnvs = ['development', 'test', 'production'] as const;
export const LogLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const BaseConfig = Type.Object({
  NODE_ENV: Type.Union(
    NodeEnvs.map((v) => Type.Literal(v)),
    { default: 'development' },
  ),
  LOG_LEVEL: Type.Union(
    LogLevels.map((v) => Type.Literal(v)),
    { default: 'info' },
  ),
  /** Loopback by default: binding every interface is a deliberate production choice, not an accident. */
  SERVICE_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  SERVICE_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
});

export const KafkaConfig = Type.Object({
  /** Comma-separated `host:port` list. */
  KAFKA_BROKERS: Type.Array(Type.String({ pattern: '^[^\\s:]+:\\d+$' }), { minItems: 1 }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: 'leadflow' }),
});

export const MongoConfig = Type.Object({
  MONGO_URL: Type.String({ pattern: '^mongodb(\\+srv)?://' }),
  /** Each service owns its own database. */
  MONGO_DB: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9_-]+$' }),
});

export const TemporalConfig = Type.Object({
  TEMPORAL_ADDRESS: Type.String({ minLength: 1, default: '127.0.0.1:7233' }),
  TEMPORAL_NAMESPACE: Type.String({ minLength: 1, default: 'default' }),
  TEMPORAL_TASK_QUEUE: Type.String({ minLength: 1 }),
});

export const AuthConfig = Type.Object({
  /** HS256 key; 32+ characters so it cannot be brute-forced from a captured token. */
  JWT_SECRET: Type.String({ minLength: 32 }),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'leadflow' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'leadflow' }),
  /** Production identity provider's key set (RS256/ES256). When set, asymmetric tokens are accepted too. */
  JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Keyed pepper for API key hashes, so a leaked key table cannot be checked offline. */
  API_KEY_PEPPER: Type.Optional(Type.String({ minLength: 32 })),
});
