export { createMetrics, type Metrics, type MetricsOptions, type HttpLabel } from './metrics.js';
