import { FormatRegistry } from '@sinclair/typebox';

// TypeBox's own checkers reject every string with a `format` nobody registered, so the formats the
// contracts use are registered here, once, before any checker is compiled. Fastify validates the same
// schemas with Ajv, which knows these formats already; the definitions below agree with Ajv's.

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;

function isDateTime(value: string): boolean {
  return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));
}

/** Registers the string formats used by the contracts with TypeBox (idempotent). */
export function registerFormats(): void {
  if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isDateTime);
}
