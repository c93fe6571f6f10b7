import type { Envelope } from '@leadflow/contracts/envelope';
import type { AnyEnvelope } from '@leadflow/contracts/events';
import {
  isPublicLeadEventV1,
  toPublicEvent,
  type PublicLeadEventV1,
} from '@leadflow/contracts/public-stream';

/** One record for the public topic: keyed by lead, so each lead's events stay in order for readers. */
export interface PublicRecord {
  key: string;
  value: string;
  event: PublicLeadEventV1;
}

export type RelayDecision =
  | { kind: 'publish'; record: PublicRecord }
  | { kind: 'internal' }
  | { kind: 'invalid'; reason: string };

/**
 * What the relay does with one internal event: internal-only events are dropped; public ones are
 * mapped by the contracts' `toPublicEvent` (fields picked one by one, personal data masked) and
 * checked once more against the strict v1 schema, so that a mapping bug dead-letters the event
 * instead of leaking a field to integrators.
 */
export function relayDecision(envelope: AnyEnvelope): RelayDecision {
  const event = toPublicEvent(envelope);
  if (event === null) return { kind: 'internal' };
  if (!isPublicLeadEventV1(event)) {
    return { kind: 'invalid', reason: `public mapping of ${envelope.type} violates lead events v1` };
  }
  return { kind: 'publish', record: { key: event.leadId, value: JSON.stringify(event), event } };
}

export type PublicParseResult =
  | { ok: true; envelope: Envelope<PublicLeadEventV1> }
  | { ok: false; errors: string[] };

/**
 * Reads a record of the public topic. The platform consumer works on envelopes, so the public event
 * is carried as the `data` of a synthetic envelope whose header repeats its id, type, time, tenant and
 * lead (the key); the public event itself has no correlation id, so its id stands in for one.
 */
export function parsePublicRecord(raw: unknown): PublicParseResult {
  if (!isPublicLeadEventV1(raw)) return { ok: false, errors: ['not a lead events v1 record'] };
  return {
    ok: true,
    envelope: {
      id: raw.id,
      type: raw.type,
      version: raw.version,
      occurredAt: raw.occurredAt,
      correlationId: raw.id,
      key: raw.leadId,
      oemId: raw.oemId,
      data: raw,
    },
  };
}
