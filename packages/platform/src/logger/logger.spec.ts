import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { maskEmail, maskMobile } from './mask.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, destination };
}

describe('maskMobile / maskEmail', () => {
  it('keeps prefix and last four digits', () => {
    expect(maskMobile('13812345678')).toBe('138****5678');
    expect(maskMobile('+8613812345678')).toBe('+86138****5678');
    expect(maskMobile('12345')).toBe('***45');
  });
  it('masks the local part of an email', () => {
    expect(maskEmail('zhang.san@example.com')).toBe('z***@example.com');
    expect(maskEmail('not-an-email')).toBe('***');
  });
});

describe('createLogger', () => {
  it('adds service/version, ISO time and redacts credentials and PII', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'ingestion', version: '1.2.3', destination });
    logger.info(
      {
        req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'lf_1_2', cookie: 'c', accept: '*/*' } },
        customer: { mobile: '13812345678', city: 'Shanghai' },
        lead: { mobile: '13812345678', email: 'a@b.c', name: 'Zhang', grade: 'H' },
        source: { token: 't', secret: 's' },
      },
      'received',
    );
    const line = lines[0]!;
    expect(line).toMatchObject({ service: 'ingestion', version: '1.2.3', level: 'info', msg: 'received' });
    expect(typeof line.time).toBe('string');
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(line.req).toEqual({
      headers: {
        authorization: '[redacted]',
        'x-api-key': '[redacted]',
        cookie: '[redacted]',
        accept: '*/*',
      },
    });
    expect(line.customer).toEqual({ mobile: '[redacted]', city: '[redacted]' });
    expect(line.lead).toEqual({ mobile: '[redacted]', email: '[redacted]', name: '[redacted]', grade: 'H' });
    expect(line.source).toEqual({ token: '[redacted]', secret: '[redacted]' });
    expect(JSON.stringify(lines)).not.toContain('13812345678');
  });
});
