import { createHash, randomUUID } from 'node:crypto';

/**
 * A delivery's id, derived from what it delivers: the same event to the same subscription (in the
 * same replay) always has the same id, so a redelivered Kafka record or a retried replay request
 * cannot enqueue it twice. Hashed to stay URL-safe and bounded whatever the event id looks like.
 */
export function deliveryId(subscriptionId: string, eventId: string, replayId?: string): string {
  const digest = createHash('sha256')
    .update(`${subscriptionId}\u0000${eventId}\u0000${replayId ?? ''}`)
    .digest('base64url')
    .slice(0, 32);
  return `dlv_${digest}`;
}

export const newSubscriptionId = (): string => `sub_${randomUUID().replaceAll('-', '')}`;
export const newReplayId = (): string => `rpl_${randomUUID().replaceAll('-', '')}`;
export const newSecretId = (): string => `sec_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
