import { ChannelL1s, ChannelL2s, type ChannelL1, type ChannelL2 } from '@leadflow/contracts/common';
import { Schema, type Connection, type Model } from 'mongoose';

export interface ChannelDoc {
  oemId: string;
  /** The L3 id: what `channel.l3` of every lead event carries. Unique per OEM. */
  id: string;
  l1: ChannelL1;
  l2: ChannelL2;
  l3Name: string;
  validFrom?: Date;
  validTo?: Date;
  costPerLead?: number;
  budget?: number;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const channelSchema = new Schema<ChannelDoc>(
  {
    oemId: { type: String, required: true },
    id: { type: String, required: true },
    l1: { type: String, required: true, enum: ChannelL1s },
    l2: { type: String, required: true, enum: ChannelL2s },
    l3Name: { type: String, required: true },
    validFrom: { type: Date },
    validTo: { type: Date },
    costPerLead: { type: Number },
    budget: { type: Number },
    active: { type: Boolean, required: true },
  },
  { collection: 'channels', timestamps: true, versionKey: false, strict: 'throw' },
);

// Serves every lookup: the intake check `{ oemId, id }` and `{ oemId, id: { $in } }`; unique so two
// admins cannot create the same L3 id twice.
channelSchema.index({ oemId: 1, id: 1 }, { unique: true });
// Serves the admin list `GET /v1/channels?l1=&l2=` within an OEM.
channelSchema.index({ oemId: 1, l1: 1, l2: 1 });

export const channelModel = (connection: Connection): Model<ChannelDoc> =>
  connection.models.Channel ?? connection.model<ChannelDoc>('Channel', channelSchema);
