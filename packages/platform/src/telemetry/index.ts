import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';

export { SpanKind, type Context, type Span, type Attributes } from '@opentelemetry/api';

export interface TelemetryOptions {
  service: string;
  version: string;
  /**
   * Where finished spans go. `none` still creates real spans so that trace ids propagate through
   * Kafka headers and logs; an exporter instance (e.g. `InMemorySpanExporter`) is for tests.
   */
  exporter?: 'none' | 'console' | SpanExporter;
}

export interface Telemetry {
  /** Flushes pending spans and unregisters the global provider, so a later `initTelemetry` works. */
  shutdown(): Promise<void>;
}

/** Name of the tracer every Leadflow span is created with. */
export const TRACER_NAME = '@leadflow/platform';

/**
 * Registers a global tracer provider with W3C trace-context propagation and the AsyncLocalStorage
 * context manager (the Node default of `register()`), so a trace started by an HTTP request follows
 * the request into Kafka headers and from there into every consumer. Call it first in `main.ts`.
 */
export function initTelemetry(options: TelemetryOptions): Telemetry {
  const exporter = options.exporter ?? 'none';
  const spanProcessors: SpanProcessor[] = [];
  if (exporter === 'console') spanProcessors.push(new BatchSpanProcessor(new ConsoleSpanExporter()));
  else if (exporter !== 'none') spanProcessors.push(new SimpleSpanProcessor(exporter));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.service, 'service.version': options.version }),
    spanProcessors,
  });
  // Trace context only: baggage could carry arbitrary (personal) data across service boundaries.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

type HeaderValue = string | Buffer | (string | Buffer)[] | undefined;

const headerGetter: TextMapGetter<Record<string, HeaderValue>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined) return undefined;
    if (Array.isArray(value)) return value.map((v) => v.toString());
    return value.toString();
  },
};

/** Writes the active trace context (`traceparent`, `tracestate`) into `headers` and returns them. */
export function injectTraceHeaders(
  headers: Record<string, string>,
  from: Context = context.active(),
): Record<string, string> {
  propagation.inject(from, headers);
  return headers;
}

/** Reads a trace context from Kafka (or HTTP) headers; a context without a span when there is none. */
export function extractTraceContext(headers: Record<string, HeaderValue>): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** The active trace id, for log lines; undefined outside a sampled span. */
export function currentTraceId(): string | undefined {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * Runs `fn` inside a new span (child of `parentContext`, or of the active context), records an
 * exception and error status when `fn` throws, and always ends the span.
 */
export async function withSpan<T>(
  name: string,
  attrs: Attributes,
  fn: (span: Span) => Promise<T>,
  parentContext?: Context,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const parent = parentContext ?? context.active();
  return tracer.startActiveSpan(name, { attributes: attrs, kind }, parent, async (span) => {
    try {
      const result = await fn(span);
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
  });
}
