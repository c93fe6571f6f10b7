export interface RetryPolicy {
  /** Handler attempts before the message goes to the DLQ (first try included). */
  attempts: number;
  /** Delay before the second attempt. */
  initialMs: number;
  /** Upper bound of any single delay. */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialMs: 200, maxMs: 10_000 };

/**
 * Delay before retrying after failed attempt number `attempt` (1-based): exponential growth capped at
 * `maxMs`, with "equal jitter" — half fixed, half random — so that consumers failing together on the
 * same outage spread out their retries without ever retrying immediately.
 */
export function computeBackoff(
  attempt: number,
  policy: Pick<RetryPolicy, 'initialMs' | 'maxMs'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}
