import { parseEnvelope } from '@leadflow/contracts/events';
import { describe, expect, it } from 'vitest';
import { buildLeadReceived, receivedEventId } from './lead-received.js';

describe('buildLeadReceived', () => {
  const input = {
    leadId: '0195a1b2-0000-7000-8000-000000000001',
    oemId: 'oem-1',
    sourceId: 'src-1',
    channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-spring' } as const,
    receivedAt: new Date('2025-03-15T08:00:00Z'),
    customerKey: 'a'.repeat(64),
    correlationId: 'req-1',
    submission: {
      externalId: 'ah-1',
      customer: { mobile: '13812345678' },
      intent: { model: 'Forester' },
      showroom: { dealerId: 'D001' },
      raw: { 'utm.source': 'x' },
    },
  };

  it('builds a catalogue-valid envelope keyed by the customer key with a deterministic id', () => {
    const envelope = buildLeadReceived(input);
    expect(parseEnvelope(JSON.stringify(envelope)).ok).toBe(true);
    expect(envelope).toMatchObject({
      id: receivedEventId(input.leadId),
      type: 'lead.received',
      key: input.customerKey,
      oemId: 'oem-1',
      correlationId: 'req-1',
      occurredAt: '2025-03-15T08:00:00.000Z',
      data: {
        leadId: input.leadId,
        sourceId: 'src-1',
        channel: input.channel,
        receivedAt: '2025-03-15T08:00:00.000Z',
        externalId: 'ah-1',
        customerKey: input.customerKey,
        showroom: { dealerId: 'D001' },
        raw: { 'utm.source': 'x' },
      },
    });
  });

  it('is the same event for the same lead', () => {
    expect(buildLeadReceived(input)).toEqual(buildLeadReceived(input));
  });

  it('carries the channel cost per lead for media ROI, and leaves it out when the channel has none', () => {
    const priced = buildLeadReceived({ ...input, channelCostCny: 80 });
    expect(parseEnvelope(JSON.stringify(priced)).ok).toBe(true);
    expect(priced.data.channelCostCny).toBe(80);
    expect('channelCostCny' in buildLeadReceived(input).data).toBe(false);
  });
});
