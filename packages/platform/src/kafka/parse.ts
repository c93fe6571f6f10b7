import type { Envelope } from '@leadflow/contracts/envelope';

export type ParseResult = { ok: true; envelope: Envelope } | { ok: false; errors: string[] };

/** Turns a message value that is already valid JSON into an envelope, or lists what is wrong. */
export type EnvelopeParser = (raw: unknown) => ParseResult;

const REQUIRED_STRINGS = ['id', 'type', 'occurredAt', 'correlationId', 'key', 'oemId'] as const;

/**
 * Minimal structural check of the envelope header, used when a consumer is given no parser. Services
 * pass the contracts package's schema-checking parser, which also validates the payload per type.
 */
export function parseEnvelopeMinimal(raw: unknown): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: ['envelope must be a JSON object'] };
  }
  const record = raw as Record<string, unknown>;
  const errors: string[] = [];
  for (const field of REQUIRED_STRINGS) {
    const value = record[field];
    if (typeof value !== 'string' || value.length === 0) errors.push(`/${field} must be a non-empty string`);
  }
  if (typeof record.version !== 'number' || !Number.isInteger(record.version) || record.version < 1) {
    errors.push('/version must be an integer >= 1');
  }
  if (typeof record.occurredAt === 'string' && Number.isNaN(Date.parse(record.occurredAt))) {
    errors.push('/occurredAt must be a date-time');
  }
  if (!('data' in record)) errors.push('/data is required');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, envelope: record as unknown as Envelope };
}
