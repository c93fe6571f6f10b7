import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';
import { AuthConfig, BaseConfig, KafkaConfig, MongoConfig, TemporalConfig } from './schemas.js';

const ServiceConfig = Type.Composite([BaseConfig, KafkaConfig, MongoConfig, TemporalConfig, AuthConfig]);
const goodEnv = {
  KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.1:19093',
  MONGO_URL: 'mongodb://127.0.0.1:37017',
  MONGO_DB: 'ingestion',
  TEMPORAL_TASK_QUEUE: 'nurturing',
  JWT_SECRET: 'x'.repeat(32),
};

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults, converts types and splits comma lists', () => {
    const config = loadConfig(ServiceConfig, { ...goodEnv, SERVICE_PORT: '3101', LOG_LEVEL: 'debug' });
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'debug',
      SERVICE_HOST: '127.0.0.1',
      SERVICE_PORT: 3101,
      KAFKA_BROKERS: ['127.0.0.1:19092', '127.0.0.1:19093'],
      KAFKA_CLIENT_ID: 'leadflow',
      TEMPORAL_NAMESPACE: 'default',
      JWT_ISSUER: 'leadflow',
      JWT_AUDIENCE: 'leadflow',
    });
    expect(config.JWKS_URL).toBeUndefined();
  });

  it('converts booleans and treats blank values as unset', () => {
    const schema = Type.Object({
      FLAG: Type.Boolean({ default: false }),
      NAME: Type.String({ default: 'x' }),
    });
    expect(loadConfig(schema, { FLAG: 'true', NAME: '  ' })).toEqual({ FLAG: true, NAME: 'x' });
  });

  it('returns a deep-frozen object', () => {
    const config = loadConfig(ServiceConfig, goodEnv);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.KAFKA_BROKERS)).toBe(true);
  });

  it('ignores unrelated variables', () => {
    const config = loadConfig(BaseConfig, { PATH: '/bin', HOME: '/root' });
    expect(Object.keys(config).sort()).toEqual(['LOG_LEVEL', 'NODE_ENV', 'SERVICE_HOST', 'SERVICE_PORT']);
  });

  it('lists every bad key in one error, without echoing values', () => {
    const error = catchConfigError(() =>
      loadConfig(ServiceConfig, {
        SERVICE_PORT: 'eighty',
        LOG_LEVEL: 'loud',
        KAFKA_BROKERS: 'no-port',
        MONGO_URL: 'postgres://x',
        JWT_SECRET: 'too-short-secret-value',
      }),
    );
    expect(error.issues.map((i) => i.key)).toEqual([
      'JWT_SECRET',
      'KAFKA_BROKERS',
      'LOG_LEVEL',
      'MONGO_DB',
      'MONGO_URL',
      'SERVICE_PORT',
      'TEMPORAL_TASK_QUEUE',
    ]);
    expect(error.issues.find((i) => i.key === 'MONGO_DB')?.reason).toMatch(/required/i);
    expect(error.message).toContain('SERVICE_PORT');
    expect(error.message).not.toContain('too-short-secret-value');
  });
});
