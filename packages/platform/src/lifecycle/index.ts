export {
  runService,
  type RunServiceOptions,
  type RunningService,
  type Closeable,
  type ProcessLike,
} from './run-service.js';
