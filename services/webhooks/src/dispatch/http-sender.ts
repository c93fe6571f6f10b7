/** What one HTTP attempt came to: a status from the receiver, or no answer at all. */
export interface SendResult {
  status?: number;
  error?: string;
  durationMs: number;
}

export interface SendRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export type Sender = (request: SendRequest) => Promise<SendResult>;

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no response within ${timeoutMs} ms`;
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return `connection failed: ${cause.code}`;
  const message = error instanceof Error ? error.message : String(error);
  return `request failed: ${message}`.slice(0, 300);
}

/**
 * POSTs a delivery with `fetch`. Redirects are not followed (a 3xx is a failed attempt): following
 * one would send a signed event to a place the integrator did not register. The response body is
 * discarded unread; only the status counts.
 */
export function createHttpSender(): Sender {
  return async ({ url, body, headers, timeoutMs }) => {
    const started = performance.now();
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel().catch(() => undefined);
      return { status: response.status, durationMs: Math.round(performance.now() - started) };
    } catch (error) {
      return {
        error: describeFailure(error, timeoutMs),
        durationMs: Math.round(performance.now() - started),
      };
    }
  };
}
