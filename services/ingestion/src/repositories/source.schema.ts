import { Schema, type Connection, type Model } from 'mongoose';

export interface SourceDoc {
  /** The source id, carried as `sourceId` on every lead it sends. */
  _id: string;
  oemId: string;
  name: string;
  /** A source bound to one dealer (a dealer website form, a dealer DMS) acts only for that dealer. */
  dealerId?: string;
  defaultChannelId: string;
  /** Absent: only the default channel. */
  allowedChannelIds?: string[];
  /** The public part of the API key (`lf_<apiKeyId>_<secret>`), used to find the source on each call. */
  apiKeyId: string;
  /** HMAC of the whole key under the pepper; the key itself is never stored. */
  apiKeyHash: string;
  revoked: boolean;
  revokedAt?: Date;
  rateLimitPerMinute?: number;
  /**
   * The vendor adapter (`VendorAdapter`) as JSON text: its value maps hold vendor codes as keys and
   * mixed-type values, which a typed subdocument cannot hold without `Mixed`. Validated on write and read.
   */
  adapterJson?: string;
  createdAt: Date;
  updatedAt: Date;
}

export const sourceSchema = new Schema<SourceDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    name: { type: String, required: true },
    dealerId: { type: String },
    defaultChannelId: { type: String, required: true },
    // `default: undefined`: mongoose would otherwise store [], which would mean "no channel allowed".
    allowedChannelIds: { type: [String], default: undefined },
    apiKeyId: { type: String, required: true },
    apiKeyHash: { type: String, required: true },
    revoked: { type: Boolean, required: true, default: false },
    revokedAt: { type: Date },
    rateLimitPerMinute: { type: Number },
    adapterJson: { type: String },
  },
  { collection: 'sources', timestamps: true, versionKey: false, strict: 'throw' },
);

// Serves the authentication lookup on every API-key request; unique so one key maps to one source.
sourceSchema.index({ apiKeyId: 1 }, { unique: true });
// Serves the admin list `GET /v1/sources` within an OEM.
sourceSchema.index({ oemId: 1, name: 1 });

export const sourceModel = (connection: Connection): Model<SourceDoc> =>
  connection.models.Source ?? connection.model<SourceDoc>('Source', sourceSchema);
