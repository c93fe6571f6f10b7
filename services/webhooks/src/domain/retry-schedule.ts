/**
 * When a failed delivery is tried again, and when it is given up. Exponential backoff with "equal
 * jitter" (half fixed, half random): receivers that come back after an outage are not hit by every
 * queued delivery at the same instant, and no retry ever happens immediately.
 */
export interface RetryPolicy {
  /** Delay after the first failed attempt. */
  initialMs: number;
  /** Upper bound of one delay. */
  maxMs: number;
  /** Retries stop once the next attempt would start later than this after the first attempt. */
  maxAgeMs: number;
}

/** The delay after failed attempt `attempt` (1-based). */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 52);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.max(1, Math.round(half + random() * half));
}

export type RetryDecision = { retry: true; at: Date } | { retry: false; reason: 'max_age' | 'gone' };

/**
 * After a failed attempt: retry at a later instant, or give up. A receiver answering 410 Gone says
 * the endpoint no longer exists, which no retry will change; everything else (5xx, 4xx, timeouts,
 * refused connections) is retried, because receivers misbehave for a while far more often than for
 * good, and giving up too early loses events.
 */
export function nextAttempt(options: {
  attempt: number;
  firstAttemptAt: Date;
  now: Date;
  status?: number | undefined;
  policy: RetryPolicy;
  random?: () => number;
}): RetryDecision {
  if (options.status === 410) return { retry: false, reason: 'gone' };
  const at = new Date(options.now.getTime() + backoffDelay(options.attempt, options.policy, options.random));
  if (at.getTime() - options.firstAttemptAt.getTime() > options.policy.maxAgeMs) {
    return { retry: false, reason: 'max_age' };
  }
  return { retry: true, at };
}

/** A 2xx answer is a delivery; anything else (including redirects, which are not followed) is not. */
export function isDelivered(status: number): boolean {
  return status >= 200 && status < 300;
}
