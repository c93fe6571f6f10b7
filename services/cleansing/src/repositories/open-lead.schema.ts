import { Schema, type Connection, type Model } from 'mongoose';

/**
 * The one open lead a customer may have. `_id` is `${oemId}:${identityHash}`, so the unique `_id` index
 * is the lock: the instance whose insert succeeds owns the customer's open slot, every other instance
 * gets a duplicate-key error and takes the duplicate path. Works without transactions (FerretDB,
 * sharded MongoDB) and across any number of cleansing instances.
 */
export interface OpenLeadDoc {
  _id: string;
  oemId: string;
  leadId: string;
  claimedAt: Date;
}

const OpenLeadSchema = new Schema<OpenLeadDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    claimedAt: { type: Date, required: true },
  },
  { collection: 'open_leads', versionKey: false, strict: 'throw' },
);

// Closure events release the slot by lead id (conditional delete `{ leadId }`).
OpenLeadSchema.index({ leadId: 1 });

export type OpenLeadModel = Model<OpenLeadDoc>;

export function openLeadModel(connection: Connection): OpenLeadModel {
  return connection.models.OpenLead ?? connection.model<OpenLeadDoc>('OpenLead', OpenLeadSchema);
}
