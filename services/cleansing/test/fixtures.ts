import { randomInt, randomUUID } from 'node:crypto';
import { makeEnvelope, type EnvelopeOf, type PayloadOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';

/** A fresh, valid mainland mobile per customer, so tests never match each other's leads. */
export const freshMobile = () => `139${String(randomInt(10_000_000, 99_999_999))}`;

export interface ReceivedOverrides {
  leadId?: string;
  customer?: Partial<PayloadOf<'lead.received'>['customer']>;
  intent?: PayloadOf<'lead.received'>['intent'];
  /** The intake key; by default derived from the mobile, as ingestion does for one customer. */
  customerKey?: string;
  envelopeId?: string;
  receivedAt?: string;
}

/** A `lead.received` as ingestion publishes it, from the contract's sample with the given changes. */
export function receivedLead(oemId: string, over: ReceivedOverrides = {}): EnvelopeOf<'lead.received'> {
  const leadId = over.leadId ?? `lead-${randomUUID()}`;
  const base = sampleEvents['lead.received'];
  const customer = { ...base.customer, ...over.customer };
  // Drop keys explicitly set to undefined: the payload schema is strict about shapes, not presence.
  for (const key of Object.keys(customer) as (keyof typeof customer)[]) {
    if (customer[key] === undefined) delete customer[key];
  }
  return makeEnvelope('lead.received', {
    id: over.envelopeId ?? `${leadId}:received`,
    oemId,
    correlationId: `corr-${leadId}`,
    data: {
      ...base,
      ...(over.intent === undefined ? {} : { intent: over.intent }),
      leadId,
      externalId: `ext-${leadId}`,
      receivedAt: over.receivedAt ?? new Date().toISOString(),
      customer,
      customerKey: over.customerKey ?? `ck-${(customer.mobile ?? leadId).replace(/\D/g, '') || leadId}`,
    },
  });
}
