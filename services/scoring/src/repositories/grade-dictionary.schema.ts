import { Schema, type Connection, type Model } from 'mongoose';
import { GradeRequirements, NurtureTracks, RegradeTriggers } from '../domain/grade-dictionaries.js';
import { LocalizedTextSchema } from './shared.schema.js';

/** One stored version of a brand's grade dictionary for one OEM. Versions are never updated, only added. */
export interface GradeDictionaryDoc {
  /** `${oemId}:${brand}:${version}`: deterministic, so seeding twice cannot create two version 1s. */
  _id: string;
  oemId: string;
  brand: string;
  version: number;
  grades: {
    code: string;
    labels: { 'zh-CN': string; en: string };
    purchaseWindowDays?: number | null;
    minPurchaseWindowDays?: number | null;
    onOrder?: boolean | null;
    requires: string[];
    criteria: { 'zh-CN': string; en: string }[];
    followUpIntervalDays: number;
    firstContactSlaMinutes: number;
    nurtureTrack: string;
  }[];
  rules: {
    gradeLock?: { afterCalls: number; withinDays: number; lockedTriggers: string[] } | null;
    promoteOnVisit?: number | null;
    promoteOnTestDrive?: number | null;
  };
  active: boolean;
  createdBy: string;
  createdAt: Date;
}

const GradeSchema = new Schema(
  {
    code: { type: String, required: true },
    labels: { type: LocalizedTextSchema, required: true },
    purchaseWindowDays: { type: Number },
    minPurchaseWindowDays: { type: Number },
    onOrder: { type: Boolean },
    requires: { type: [{ type: String, enum: GradeRequirements }], default: [] },
    criteria: { type: [LocalizedTextSchema], default: [] },
    followUpIntervalDays: { type: Number, required: true },
    firstContactSlaMinutes: { type: Number, required: true },
    nurtureTrack: { type: String, enum: NurtureTracks, required: true },
  },
  { _id: false },
);

const RulesSchema = new Schema(
  {
    gradeLock: {
      type: new Schema(
        {
          afterCalls: { type: Number, required: true },
          withinDays: { type: Number, required: true },
          lockedTriggers: { type: [{ type: String, enum: RegradeTriggers }], default: [] },
        },
        { _id: false },
      ),
    },
    promoteOnVisit: { type: Number },
    promoteOnTestDrive: { type: Number },
  },
  { _id: false },
);

export const GradeDictionarySchema = new Schema<GradeDictionaryDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    brand: { type: String, required: true },
    version: { type: Number, required: true },
    grades: { type: [GradeSchema], required: true },
    rules: { type: RulesSchema, required: true },
    active: { type: Boolean, required: true },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'grade_dictionaries', versionKey: false, strict: 'throw' },
);

// Serves "the active (highest) version of a brand" (sort by version desc) and "one given version",
// and makes a version number impossible to write twice, which is what keeps history unrewritten.
GradeDictionarySchema.index({ oemId: 1, brand: 1, version: -1 }, { unique: true });

export function gradeDictionaryModel(connection: Connection): Model<GradeDictionaryDoc> {
  return connection.model<GradeDictionaryDoc>('GradeDictionary', GradeDictionarySchema);
}
