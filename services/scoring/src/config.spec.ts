import { describe, expect, it } from 'vitest';
import { oemBrandMap, readConfig } from './config.js';

const env = { KAFKA_BROKERS: '127.0.0.1:19092', MONGO_URL: 'mongodb://127.0.0.1:37017' };

describe('readConfig', () => {
  it('applies the scoring defaults', () => {
    const config = readConfig(env);
    expect(config).toMatchObject({
      SERVICE_PORT: 3003,
      MONGO_DB: 'leadflow_scoring',
      KAFKA_TOPIC_PREFIX: '',
      DEFAULT_BRAND: 'subaru',
      OEM_BRANDS: [],
      CONVERSION_PRIOR_SMOOTHING: 10,
      CONVERSION_PRIOR_WINDOW_MONTHS: 24,
      CONVERSION_PRIOR_CACHE_MS: 30_000,
      GRADE_DICTIONARY_CACHE_MS: 5_000,
      CONSUMER_CONCURRENCY: 6,
    });
    expect(config.JWT_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it('parses per-OEM brands', () => {
    const config = readConfig({ ...env, OEM_BRANDS: 'oem-a:gwm, oem:b:nissan' });
    expect([...oemBrandMap(config)]).toEqual([
      ['oem-a', 'gwm'],
      ['oem:b', 'nissan'],
    ]);
  });

  it('refuses the demo secret fallback in production and bad brands', () => {
    expect(() => readConfig({ ...env, NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => readConfig({ ...env, DEFAULT_BRAND: 'Sub aru' })).toThrow(/DEFAULT_BRAND/);
    expect(() => readConfig({ ...env, CONVERSION_PRIOR_SMOOTHING: '-1' })).toThrow(
      /CONVERSION_PRIOR_SMOOTHING/,
    );
    expect(() => readConfig({ ...env, CONVERSION_PRIOR_WINDOW_MONTHS: '0' })).toThrow(
      /CONVERSION_PRIOR_WINDOW_MONTHS/,
    );
  });
});
