export { createLogger, REDACT_PATHS, REDACTED, type Logger, type LoggerOptions } from './logger.js';
export { maskMobile, maskEmail } from './mask.js';
