import { Schema, type Connection, type Model } from 'mongoose';

/**
 * How to reach a person: a lead's customer (from `lead.cleansed`, which carries the E.164 mobile on
 * internal topics for exactly this) or a dealer colleague (seeded per dealer). Kept here, not in
 * workflow history, so Temporal never stores personal data.
 */
export interface ContactDoc {
  /** `lead:${oemId}:${leadId}` or `agent:${oemId}:${dealerId}:${agentId}`. */
  _id: string;
  oemId: string;
  kind: 'customer' | 'agent';
  leadId?: string;
  customerId?: string;
  dealerId?: string;
  agentId?: string;
  mobileE164?: string;
  mobileMasked?: string;
  email?: string;
  emailMasked?: string;
  locale?: string;
  /** Marketing consent captured with the lead; absent when none was captured. */
  marketingConsent?: boolean;
  optedOut: boolean;
  optedOutAt?: Date;
  updatedAt: Date;
}

export const ContactSchema = new Schema<ContactDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    kind: { type: String, required: true, enum: ['customer', 'agent'] },
    leadId: { type: String },
    customerId: { type: String },
    dealerId: { type: String },
    agentId: { type: String },
    mobileE164: { type: String },
    mobileMasked: { type: String },
    email: { type: String },
    emailMasked: { type: String },
    locale: { type: String },
    marketingConsent: { type: Boolean },
    optedOut: { type: Boolean, required: true, default: false },
    optedOutAt: { type: Date },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'contacts', versionKey: false },
);

// Opting a customer out applies to all of their leads: updateMany by customer within the OEM.
ContactSchema.index({ customerId: 1, oemId: 1 }, { name: 'customer_oem' });

export function contactModel(connection: Connection): Model<ContactDoc> {
  return connection.models.Contact ?? connection.model<ContactDoc>('Contact', ContactSchema);
}
