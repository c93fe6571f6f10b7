import { Schema, type Connection, type Model } from 'mongoose';
import type { DedupScope, MatchKey } from '../domain/dedup.js';

/** An OEM's dedup rule set; `_id` is the OEM, `version` guards concurrent edits. */
export interface DedupRuleDoc {
  _id: string;
  oemId: string;
  version: number;
  matchKeys: MatchKey[];
  windowDays: number;
  scope: DedupScope;
  updatedAt: Date;
  updatedBy: string;
}

const DedupRuleSchema = new Schema<DedupRuleDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    version: { type: Number, required: true },
    matchKeys: { type: [String], required: true },
    windowDays: { type: Number, required: true },
    scope: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  // No secondary index: rules are read by `_id` (the OEM) only.
  { collection: 'dedup_rules', versionKey: false, strict: 'throw' },
);

export type DedupRuleModel = Model<DedupRuleDoc>;

export function dedupRuleModel(connection: Connection): DedupRuleModel {
  return connection.models.DedupRule ?? connection.model<DedupRuleDoc>('DedupRule', DedupRuleSchema);
}
