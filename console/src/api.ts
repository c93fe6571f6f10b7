/**
 * Calls to the services through the console server's `/api/<service>` proxy, with the session's
 * bearer token. Errors keep the service's problem+json so screens can show its `detail`.
 */
import { storedToken } from './session.js';

export type Service =
  | 'ingestion'
  | 'cleansing'
  | 'scoring'
  | 'allocation'
  | 'nurturing'
  | 'reporting'
  | 'webhooks';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly body: unknown,
  ) {
    super(`${status}: ${detail}`);
  }
}

export type Query = Record<string, string | number | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  idempotencyKey?: string;
  query?: Query;
}

export async function call<T>(service: Service, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = storedToken();
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const init: RequestInit = { method: options.method ?? 'GET', headers };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  const res = await fetch(`/api/${service}${withQuery(path, options.query)}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text (e.g. /metrics)
  }
  if (!res.ok) {
    const problem = body as { detail?: string; title?: string } | undefined;
    throw new ApiError(res.status, problem?.detail ?? problem?.title ?? res.statusText, body);
  }
  return body as T;
}

/** The Prometheus text of a service's /metrics (unauthenticated). */
export async function metricsText(service: Service): Promise<string> {
  const res = await fetch(`/api/${service}/metrics`);
  if (!res.ok) throw new ApiError(res.status, res.statusText, undefined);
  return res.text();
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/** Fetches an export with the session's token and hands it to the browser as a download. */
export async function download(
  service: Service,
  path: string,
  query: Query,
  fallbackName: string,
): Promise<void> {
  const token = storedToken();
  const res = await fetch(`/api/${service}${withQuery(path, query)}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  if (!res.ok) {
    const text = await res.text();
    let detail = res.statusText;
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
    } catch {
      // keep the status text
    }
    throw new ApiError(res.status, detail, text);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
