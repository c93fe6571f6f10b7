import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface MetricsOptions {
  service: string;
  /** Node process metrics (heap, event loop lag, GC). Off only in tests that build many registries. */
  defaultMetrics?: boolean;
}

export type HttpLabel = 'method' | 'route' | 'status_code';

export interface Metrics {
  /** One registry per process; services register their own counters with `registers: [registry]`. */
  registry: Registry;
  /** HTTP request duration in seconds, labelled by route template (not raw URL, to bound cardinality). */
  httpDuration: Histogram<HttpLabel>;
}

/** Builds the process registry with a `service` label on every series. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram<HttpLabel>({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds by route template, method and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, httpDuration };
}
