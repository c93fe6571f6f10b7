import { EventNames } from '@leadflow/contracts/events';
import { samplePii, sampleEnvelope } from '@leadflow/contracts/fixtures';
import { isPublicEventType } from '@leadflow/contracts/public-stream';
import { describe, expect, it } from 'vitest';
import { parsePublicRecord, relayDecision } from './public-stream.js';

describe('relayDecision', () => {
  it.each(EventNames)('%s is published (keyed by lead, no personal data) or stays internal', (name) => {
    const envelope = sampleEnvelope(name);
    const decision = relayDecision(envelope);
    if (!isPublicEventType(name)) {
      expect(decision.kind).toBe('internal');
      return;
    }
    expect(decision.kind).toBe('publish');
    if (decision.kind !== 'publish') return;
    expect(decision.record.key).toBe(envelope.data.leadId);
    expect(decision.record.event).toMatchObject({
      id: envelope.id,
      type: name,
      version: 1,
      oemId: envelope.oemId,
    });
    for (const pii of Object.values(samplePii)) expect(decision.record.value).not.toContain(pii);
    expect(JSON.parse(decision.record.value)).toEqual(decision.record.event);
  });

  it('keys a duplicate by its own lead, not the open lead it was merged into', () => {
    const envelope = sampleEnvelope('lead.duplicated');
    const decision = relayDecision(envelope);
    expect(decision.kind === 'publish' && decision.record.key).toBe(envelope.data.leadId);
    expect(envelope.key).not.toBe(envelope.data.leadId);
  });

  it('refuses to publish a mapping that violates the strict v1 schema', () => {
    const envelope = sampleEnvelope('lead.invalidated');
    const broken = { ...envelope, data: { ...envelope.data, reason: 'x'.repeat(51) } } as typeof envelope;
    expect(relayDecision(broken)).toEqual({
      kind: 'invalid',
      reason: 'public mapping of lead.invalidated violates lead events v1',
    });
  });
});

describe('parsePublicRecord', () => {
  it('wraps a public event in an envelope for the platform consumer', () => {
    const decision = relayDecision(sampleEnvelope('lead.allocated'));
    if (decision.kind !== 'publish') throw new Error('expected a public event');
    const parsed = parsePublicRecord(JSON.parse(decision.record.value));
    expect(parsed).toEqual({
      ok: true,
      envelope: expect.objectContaining({
        id: decision.record.event.id,
        type: 'lead.allocated',
        key: decision.record.event.leadId,
        data: decision.record.event,
      }),
    });
  });

  it('rejects anything that is not a v1 public event', () => {
    expect(parsePublicRecord({ id: 'x' }).ok).toBe(false);
    expect(parsePublicRecord('text').ok).toBe(false);
    expect(parsePublicRecord(sampleEnvelope('lead.allocated')).ok).toBe(false);
  });
});
