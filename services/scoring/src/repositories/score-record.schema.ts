import { Schema, type Connection, type Model } from 'mongoose';
import { DictionaryRefSchema, LocalizedTextSchema, ScoreFactorSchema } from './shared.schema.js';

type Localized = { 'zh-CN': string; en: string };

/** One grading of a lead (the first score or a regrade): the history behind `GET /v1/leads/{id}/score`. */
export interface ScoreRecordDoc {
  /** The id of the event that caused this grading: a redelivery of that event finds this record. */
  _id: string;
  oemId: string;
  leadId: string;
  kind: 'scored' | 'regraded';
  /** 0 for the first score, n for the n-th regrade (`${leadId}:regraded:${n}`). */
  sequence: number;
  /** The id of the scoring event published for it. */
  eventId: string;
  /** The type of the causing event. */
  trigger: string;
  grade: string;
  previousGrade?: string;
  score: number;
  factors: { factor: string; weight: number; value: number; contribution: number; explanation: Localized }[];
  explanation: Localized;
  reasons: Localized[];
  dictionary: { brand: string; version: number };
  /**
   * The published envelope, serialized once: a redelivered cause re-publishes these exact bytes, so
   * downstream dedup by event id sees an identical event.
   */
  envelope: string;
  createdAt: Date;
}

export const ScoreRecordSchema = new Schema<ScoreRecordDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    kind: { type: String, enum: ['scored', 'regraded'], required: true },
    sequence: { type: Number, required: true },
    eventId: { type: String, required: true },
    trigger: { type: String, required: true },
    grade: { type: String, required: true },
    previousGrade: String,
    score: { type: Number, required: true },
    factors: { type: [ScoreFactorSchema], default: [] },
    explanation: { type: LocalizedTextSchema, required: true },
    reasons: { type: [LocalizedTextSchema], default: [] },
    dictionary: { type: DictionaryRefSchema, required: true },
    envelope: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'score_records', versionKey: false, strict: 'throw' },
);

// Serves the grade history of one lead, oldest first.
ScoreRecordSchema.index({ leadId: 1, oemId: 1, sequence: 1 });

export function scoreRecordModel(connection: Connection): Model<ScoreRecordDoc> {
  return connection.model<ScoreRecordDoc>('ScoreRecord', ScoreRecordSchema);
}
