import { LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { ConfigError } from '@leadflow/platform/config';
import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';

const env = { KAFKA_BROKERS: '127.0.0.1:19092', MONGO_URL: 'mongodb://127.0.0.1:37017' };

describe('readConfig', () => {
  it('applies allocation’s defaults', () => {
    const config = readConfig(env);
    expect(config).toMatchObject({
      SERVICE_PORT: 3004,
      MONGO_DB: 'leadflow_allocation',
      KAFKA_TOPIC_PREFIX: '',
      JWT_SECRET: LOCAL_DEV_JWT_SECRET,
      SWEEP_INTERVAL_MS: 10_000,
    });
  });

  it('treats blank values as unset', () => {
    expect(readConfig({ ...env, SERVICE_PORT: ' ', MONGO_DB: '' })).toMatchObject({
      SERVICE_PORT: 3004,
      MONGO_DB: 'leadflow_allocation',
    });
  });

  it('refuses to start in production without a real JWT secret', () => {
    expect(() => readConfig({ ...env, NODE_ENV: 'production' })).toThrow(ConfigError);
  });
});
