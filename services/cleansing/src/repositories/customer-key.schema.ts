import { Schema, type Connection, type Model } from 'mongoose';

/**
 * The customer's latest pool entry per match key, read by `_id` on every lead. `_id` is
 * `${oemId}:${matchKey}:${hash}`; `latest` is `${createdAt ISO}|${leadId}`, raised with `$max` so
 * concurrent writers converge on the newest entry without a read-modify-write.
 *
 * Why not query the pool by hash: FerretDB (SQLite) pushes only `{ _id: value }` filters down to its
 * storage; any other filter scans the collection, which at a million customers costs seconds per lead.
 * Since a customer has at most one open lead and new pool entries are only created while none is
 * open, the latest entry is the open lead when there is one, else the customer's latest closure.
 */
export interface CustomerKeyDoc {
  _id: string;
  oemId: string;
  latest: string;
}

const CustomerKeySchema = new Schema<CustomerKeyDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    latest: { type: String, required: true },
  },
  // No secondary index: read and written by `_id` only.
  { collection: 'customer_keys', versionKey: false, strict: 'throw' },
);

/** The `_id` of a customer's pointer for one match key. */
export const customerKeyId = (oemId: string, key: 'mobile' | 'email' | 'phone', hash: string) =>
  `${oemId}:${key}:${hash}`;
/** The pointer value: sortable by creation time, so `$max` keeps the newest entry. */
export const latestOf = (createdAt: Date, leadId: string) => `${createdAt.toISOString()}|${leadId}`;

export type CustomerKeyModel = Model<CustomerKeyDoc>;

export function customerKeyModel(connection: Connection): CustomerKeyModel {
  return connection.models.CustomerKey ?? connection.model<CustomerKeyDoc>('CustomerKey', CustomerKeySchema);
}
