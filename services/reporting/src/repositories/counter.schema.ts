import { Schema, type Connection, type Model } from 'mongoose';
import { CounterNames, type Counters } from '../domain/counters.js';
import type { BucketKey } from '../domain/lead-counting.js';

/**
 * One pre-aggregated bucket: day × dealer × agent × channel (L1/L2/L3) × model × grade. `applied`
 * lists the event ids already added, so the `$inc` of one event lands at most once even when a crash
 * or a rebalance makes two deliveries count it.
 */
export interface CounterDoc extends BucketKey {
  _id: string;
  c: Counters;
  applied: string[];
}

const CountersSchema = new Schema<Counters>(
  Object.fromEntries(CounterNames.map((name) => [name, { type: Number }])),
  { _id: false },
);

const CounterSchema = new Schema<CounterDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    day: { type: String, required: true },
    dealerId: { type: String, required: true },
    agentId: { type: String, required: true },
    channelL1: { type: String, required: true },
    channelL2: { type: String, required: true },
    channelL3: { type: String, required: true },
    model: { type: String, required: true },
    grade: { type: String, required: true },
    c: { type: CountersSchema, default: {} },
    applied: { type: [String], default: [] },
  },
  { collection: 'counters', versionKey: false },
);

// KPI and funnel queries over a day range for an OEM (OEM roles).
CounterSchema.index({ oemId: 1, day: 1 });
// The same forced to one dealer (dealer roles).
CounterSchema.index({ oemId: 1, dealerId: 1, day: 1 });
// The same forced to one consultant (agent roles).
CounterSchema.index({ oemId: 1, agentId: 1, day: 1 });

export function counterModel(connection: Connection): Model<CounterDoc> {
  return (
    connection.models.ReportingCounter ?? connection.model<CounterDoc>('ReportingCounter', CounterSchema)
  );
}
