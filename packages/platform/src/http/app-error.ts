/**
 * The closed set of failures a handler may raise on purpose, each with exactly one HTTP status.
 * Anything else thrown is a bug and becomes a 500 with no internals in the body.
 */
export const AppErrorTypes = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
} as const;

export type AppErrorType = keyof typeof AppErrorTypes;

/** One offending field, `path` as a JSON pointer into the request (`/body/customer/mobile`). */
export interface FieldError {
  path: string;
  message: string;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  cause?: unknown;
}

/** An expected failure; `detail` is shown to the client, so it must never contain secrets or PII. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  readonly errors: FieldError[] | undefined;

  constructor(
    readonly type: AppErrorType,
    readonly detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = AppErrorTypes[type];
    this.errors = options.errors;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
