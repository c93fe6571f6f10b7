import { describe, expect, it } from 'vitest';
import { deliveryId, newReplayId, newSubscriptionId } from './delivery-ids.js';

describe('deliveryId', () => {
  it('is deterministic per subscription, event and replay', () => {
    expect(deliveryId('sub_1', 'lead-1:lead.allocated')).toBe(deliveryId('sub_1', 'lead-1:lead.allocated'));
    expect(deliveryId('sub_1', 'e1')).not.toBe(deliveryId('sub_2', 'e1'));
    expect(deliveryId('sub_1', 'e1')).not.toBe(deliveryId('sub_1', 'e2'));
    expect(deliveryId('sub_1', 'e1', 'rpl_1')).not.toBe(deliveryId('sub_1', 'e1'));
    expect(deliveryId('sub_1', 'e1', 'rpl_1')).not.toBe(deliveryId('sub_1', 'e1', 'rpl_2'));
  });

  it('is URL-safe and bounded whatever the event id', () => {
    const id = deliveryId('sub_1', 'x/y?z#'.repeat(50));
    expect(id).toMatch(/^dlv_[A-Za-z0-9_-]{32}$/);
  });

  it('mints distinct subscription and replay ids', () => {
    expect(newSubscriptionId()).toMatch(/^sub_[0-9a-f]{32}$/);
    expect(newReplayId()).not.toBe(newReplayId());
  });
});
