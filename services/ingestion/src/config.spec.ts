import { ConfigError } from '@leadflow/platform/config';
import { describe, expect, it } from 'vitest';
import { LOCAL_DEV_CUSTOMER_KEY_SECRET, readConfig } from './config.js';

const infra = { KAFKA_BROKERS: '127.0.0.1:19092', MONGO_URL: 'mongodb://127.0.0.1:37017' };

describe('readConfig', () => {
  it('applies the ingestion defaults and the demo secrets outside production', () => {
    const config = readConfig(infra);
    expect(config).toMatchObject({
      SERVICE_PORT: 3001,
      MONGO_DB: 'leadflow_ingestion',
      KAFKA_TOPIC_PREFIX: '',
      CUSTOMER_KEY_SECRET: LOCAL_DEV_CUSTOMER_KEY_SECRET,
      RELAY_INTERVAL_MS: 2_000,
      PUBLISH_LEASE_MS: 5_000,
      PUBLISH_RETRIES: 3,
      BUSINESS_TIME_ZONE: 'Asia/Shanghai',
    });
    expect(config.API_KEY_PEPPER).toBeDefined();
  });

  it('lets the environment override the defaults', () => {
    expect(readConfig({ ...infra, SERVICE_PORT: '0', MONGO_DB: 'x' })).toMatchObject({
      SERVICE_PORT: 0,
      MONGO_DB: 'x',
    });
  });

  it('demands real secrets in production', () => {
    let error: unknown;
    try {
      readConfig({ ...infra, NODE_ENV: 'production' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.key)).toEqual(['CUSTOMER_KEY_SECRET', 'JWT_SECRET']);
    const secrets = { JWT_SECRET: 'j'.repeat(32), CUSTOMER_KEY_SECRET: 'c'.repeat(32) };
    expect(() => readConfig({ ...infra, ...secrets, NODE_ENV: 'production' })).toThrow(/API_KEY_PEPPER/);
    expect(
      readConfig({ ...infra, ...secrets, API_KEY_PEPPER: 'p'.repeat(32), NODE_ENV: 'production' }).NODE_ENV,
    ).toBe('production');
  });
});
