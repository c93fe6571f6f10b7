import { describe, expect, it } from 'vitest';
import { parseEnvelopeMinimal } from './parse.js';

const valid = {
  id: 'lead-1:received',
  type: 'lead.received',
  version: 1,
  occurredAt: '2025-01-01T08:00:00.000Z',
  correlationId: 'c-1',
  key: 'cust-1',
  oemId: 'oem-1',
  data: {},
};

describe('parseEnvelopeMinimal', () => {
  it('accepts a complete envelope', () => {
    expect(parseEnvelopeMinimal(valid)).toEqual({ ok: true, envelope: valid });
  });

  it('lists every missing or malformed header field', () => {
    const result = parseEnvelopeMinimal({
      ...valid,
      id: '',
      version: 0,
      occurredAt: 'yesterday',
      data: undefined,
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining([
          '/id must be a non-empty string',
          '/version must be an integer >= 1',
          '/occurredAt must be a date-time',
        ]),
      );
    }
    const { data: _ignored, ...withoutData } = valid;
    expect(parseEnvelopeMinimal(withoutData)).toEqual({ ok: false, errors: ['/data is required'] });
  });

  it('rejects non-objects', () => {
    for (const raw of [null, 42, 'x', [valid]]) expect(parseEnvelopeMinimal(raw).ok).toBe(false);
  });
});
