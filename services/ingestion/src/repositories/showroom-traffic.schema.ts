import { Schema, type Connection, type Model } from 'mongoose';

export const TrafficKinds = ['walk_in', 'call'] as const;
export type TrafficKind = (typeof TrafficKinds)[number];

/**
 * Visitors and callers who left no contact: counted per dealer per business day, never a lead
 * (GWM: "those without contact info count only toward traffic statistics").
 */
export interface ShowroomTrafficDoc {
  /** `<oemId>|<dealerId>|<day>`: one counter document per dealer and day, upserted with `$inc`. */
  _id: string;
  oemId: string;
  dealerId: string;
  /** `YYYY-MM-DD` in the business time zone. */
  day: string;
  walkIns: number;
  calls: number;
  updatedAt: Date;
}

export const showroomTrafficSchema = new Schema<ShowroomTrafficDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    day: { type: String, required: true },
    walkIns: { type: Number, required: true, default: 0 },
    calls: { type: Number, required: true, default: 0 },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'showroom_traffic', versionKey: false, strict: 'throw' },
);

// Serves `GET /v1/showroom/traffic`: one dealer (or all of an OEM's) over a day range.
showroomTrafficSchema.index({ oemId: 1, dealerId: 1, day: 1 });

export const showroomTrafficModel = (connection: Connection): Model<ShowroomTrafficDoc> =>
  connection.models.ShowroomTraffic ??
  connection.model<ShowroomTrafficDoc>('ShowroomTraffic', showroomTrafficSchema);
