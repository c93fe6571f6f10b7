export { loadConfig, ConfigError, type ConfigIssue, type Env } from './load-config.js';
export {
  BaseConfig,
  KafkaConfig,
  MongoConfig,
  TemporalConfig,
  AuthConfig,
  NodeEnvs,
  LogLevels,
} from './schemas.js';
