import { describe, expect, it } from 'vitest';
import { perMinute, sumMetric } from './metrics.js';

const text = [
  '# HELP leadflow_kafka_messages_handled_total Messages whose handler succeeded.',
  '# TYPE leadflow_kafka_messages_handled_total counter',
  'leadflow_kafka_messages_handled_total{topic="a",group="g"} 3',
  'leadflow_kafka_messages_handled_total{topic="b",group="g"} 4',
  'leadflow_kafka_messages_handled_total_extra{topic="b"} 100',
  'leadflow_kafka_consumer_lag 7',
  'http_request_duration_seconds_count{method="POST",route="/v1/leads",status_code="202"} 5',
  'http_request_duration_seconds_count{method="GET",route="/v1/leads",status_code="200"} 9',
].join('\n');

describe('sumMetric', () => {
  it('sums every labelled sample of exactly that metric', () => {
    expect(sumMetric(text, 'leadflow_kafka_messages_handled_total')).toBe(7);
    expect(sumMetric(text, 'leadflow_kafka_consumer_lag')).toBe(7);
  });
  it('filters lines', () => {
    expect(sumMetric(text, 'http_request_duration_seconds_count', /method="POST"/)).toBe(5);
  });
  it('is undefined for a metric that is not exposed (a counter never incremented)', () => {
    expect(sumMetric(text, 'leadflow_kafka_messages_dlq_total')).toBeUndefined();
    expect(sumMetric('', 'x')).toBeUndefined();
  });
  it('ignores unparsable values', () => {
    expect(sumMetric('m{a="1"} NaN\nm 2', 'm')).toBe(2);
  });
});

describe('perMinute', () => {
  it('scales the difference to a minute', () => {
    expect(perMinute({ at: 0, value: 10 }, { at: 30_000, value: 40 })).toBe(60);
  });
  it('is null without two samples or without elapsed time', () => {
    expect(perMinute(undefined, { at: 1, value: 1 })).toBeNull();
    expect(perMinute({ at: 1, value: undefined }, { at: 2, value: 1 })).toBeNull();
    expect(perMinute({ at: 5, value: 1 }, { at: 5, value: 2 })).toBeNull();
  });
  it('reads a counter reset (service restart) as zero, not negative traffic', () => {
    expect(perMinute({ at: 0, value: 100 }, { at: 60_000, value: 3 })).toBe(0);
  });
});
