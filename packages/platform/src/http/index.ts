export { createHttpApp, CORRELATION_HEADER, type HttpApp, type HttpAppOptions } from './create-http-app.js';
export {
  AppError,
  AppErrorTypes,
  isAppError,
  type AppErrorType,
  type AppErrorOptions,
  type FieldError,
} from './app-error.js';
export {
  ProblemSchema,
  ProblemTypes,
  PROBLEM_CONTENT_TYPE,
  buildProblem,
  sendProblem,
  toProblem,
  type Problem,
  type ProblemType,
} from './problem.js';
export {
  withIdempotency,
  requestFingerprint,
  IDEMPOTENCY_HEADER,
  REPLAYED_HEADER,
  type IdempotencyStore,
  type IdempotencyId,
  type IdempotencyHooks,
  type IdempotencyRouteOptions,
  type StoredResponse,
  type BeginOutcome,
} from './idempotency.js';
export {
  createMongoIdempotencyStore,
  type MongoIdempotencyStore,
  type MongoIdempotencyStoreOptions,
} from './mongo-idempotency-store.js';
