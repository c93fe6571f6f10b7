import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { ContactRepository } from '../repositories/contact.repository.js';

/**
 * Keeps how to reach each lead's customer. `lead.cleansed` is the one internal event carrying the
 * normalised E.164 mobile and e-mail with the consent flag; allocation and the lifecycle events carry
 * none (no personal data in workflow history or on the lifecycle topic). Idempotent: an upsert by lead.
 */
export function createCleansedHandler(deps: { contacts: ContactRepository }) {
  return async (envelope: EnvelopeOf<'lead.cleansed'>): Promise<void> => {
    const { data } = envelope;
    const { contact } = data;
    await deps.contacts.saveCustomer({
      oemId: envelope.oemId,
      leadId: data.leadId,
      customerId: data.customerId,
      ...(contact.mobileE164 === undefined ? {} : { mobileE164: contact.mobileE164 }),
      ...(contact.mobileMasked === undefined ? {} : { mobileMasked: contact.mobileMasked }),
      ...(contact.email === undefined ? {} : { email: contact.email }),
      ...(contact.emailMasked === undefined ? {} : { emailMasked: contact.emailMasked }),
      ...(data.consent === undefined ? {} : { marketingConsent: data.consent.marketing }),
    });
  };
}
