import mongoose from 'mongoose';

/**
 * A failure that will fail the same way on every attempt: unparseable payload, schema violation,
 * business rejection. The consumer sends the message to `<topic>.dlq` at once, without retrying.
 */
export class NonRetriableError extends Error {
  override readonly name = 'NonRetriableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A transient failure (dependency down, timeout): the consumer retries it with backoff, then DLQs it. */
export class RetriableError extends Error {
  override readonly name = 'RetriableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type ErrorClass = 'retriable' | 'non-retriable';

const NON_RETRIABLE_MONGOOSE_ERRORS = new Set([
  'ValidationError',
  'CastError',
  'StrictModeError',
  'ValidatorError',
]);

/**
 * Decides whether retrying can help. Unknown errors are retriable: a wrong guess costs a few backoff
 * delays before the DLQ, whereas treating a transient outage as permanent would dead-letter healthy
 * traffic. Mongoose validation/cast errors are deterministic, so they are not retried.
 *
 * A duplicate-key error is classified retriable when it escapes a handler: usually the handler should
 * have caught it with {@link isDuplicateKeyError} (the event was already applied), and when it comes
 * from a race with another instance, a retry re-reads the state and takes the idempotent path.
 */
export function classifyError(error: unknown): ErrorClass {
  if (error instanceof NonRetriableError) return 'non-retriable';
  if (error instanceof RetriableError) return 'retriable';
  if (error instanceof mongoose.Error.ValidationError || error instanceof mongoose.Error.CastError) {
    return 'non-retriable';
  }
  // By name too: a second copy of mongoose (or a plain driver error) has its own classes.
  if (error instanceof Error && NON_RETRIABLE_MONGOOSE_ERRORS.has(error.name)) return 'non-retriable';
  return 'retriable';
}

function codeOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined;
}

/**
 * True for MongoDB's E11000 duplicate key (also inside a bulk write). For an idempotent consumer this
 * usually means "already applied", which the caller decides — it is not treated as a failure here.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  const code = codeOf(error);
  if (code === 11000 || code === 11001) return true;
  if (
    typeof error === 'object' &&
    error !== null &&
    'writeErrors' in error &&
    Array.isArray(error.writeErrors)
  ) {
    return (error.writeErrors as unknown[]).some((w) => {
      const c = codeOf(w);
      return c === 11000 || c === 11001;
    });
  }
  return false;
}

/** Short, header-safe description of an error for `dlq-reason`. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 1_000 ? `${text.slice(0, 1_000)}…` : text;
}

/** The class name recorded in `dlq-error-class`. */
export function errorClassName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * True when every write error of an (unordered) bulk write or insertMany is a duplicate key, i.e. the
 * other documents were written and the duplicates were there already. Other errors (or none listed)
 * are real failures.
 */
export function onlyDuplicateKeys(error: unknown): boolean {
  const code = codeOf(error);
  if (code === 11000 || code === 11001) {
    if (typeof error !== 'object' || error === null || !('writeErrors' in error)) return true;
  }
  if (
    typeof error !== 'object' ||
    error === null ||
    !('writeErrors' in error) ||
    !Array.isArray(error.writeErrors)
  ) {
    return false;
  }
  const writeErrors = error.writeErrors as unknown[];
  return (
    writeErrors.length > 0 &&
    writeErrors.every((w) => {
      const c = codeOf(w);
      return c === 11000 || c === 11001;
    })
  );
}
