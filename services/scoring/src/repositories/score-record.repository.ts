import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type { LocalizedText } from '../domain/grade-dictionaries.js';
import type { ScoreFactor } from '../domain/score.js';
import { scoreRecordModel, type ScoreRecordDoc } from './score-record.schema.js';

export interface ScoreRecord {
  causeEventId: string;
  oemId: string;
  leadId: string;
  kind: 'scored' | 'regraded';
  sequence: number;
  eventId: string;
  trigger: string;
  grade: string;
  previousGrade?: string;
  score: number;
  factors: ScoreFactor[];
  explanation: LocalizedText;
  reasons: LocalizedText[];
  dictionary: { brand: string; version: number };
  envelope: string;
  createdAt: string;
}

export interface ScoreRecordRepository {
  /**
   * Writes the record of a cause, replacing an earlier attempt for the same cause (one that lost a
   * race and never became the lead's grade), so a retry converges on one record per cause.
   */
  save(record: Omit<ScoreRecord, 'createdAt'>): Promise<void>;
  /** `save` for many records in one write. */
  saveMany(records: readonly Omit<ScoreRecord, 'createdAt'>[]): Promise<void>;
  /** Drops the record of a cause whose final decision was "no grade change" (an attempt that lost a race). */
  remove(filter: TenantFilter<ScoreRecordDoc> & { causeEventId: string }): Promise<void>;
  findByCause(filter: TenantFilter<ScoreRecordDoc> & { causeEventId: string }): Promise<ScoreRecord | null>;
  /** The records of one lead, in grading order. */
  listForLead(filter: TenantFilter<ScoreRecordDoc> & { leadId: string }): Promise<ScoreRecord[]>;
}

function toDomain(doc: ScoreRecordDoc): ScoreRecord {
  const record: ScoreRecord = {
    causeEventId: doc._id,
    oemId: doc.oemId,
    leadId: doc.leadId,
    kind: doc.kind,
    sequence: doc.sequence,
    eventId: doc.eventId,
    trigger: doc.trigger,
    grade: doc.grade,
    score: doc.score,
    factors: doc.factors.map((f) => ({
      factor: f.factor as ScoreFactor['factor'],
      weight: f.weight,
      value: f.value,
      contribution: f.contribution,
      explanation: { 'zh-CN': f.explanation['zh-CN'], en: f.explanation.en },
    })),
    explanation: { 'zh-CN': doc.explanation['zh-CN'], en: doc.explanation.en },
    reasons: doc.reasons.map((r) => ({ 'zh-CN': r['zh-CN'], en: r.en })),
    dictionary: { brand: doc.dictionary.brand, version: doc.dictionary.version },
    envelope: doc.envelope,
    createdAt: doc.createdAt.toISOString(),
  };
  if (doc.previousGrade) record.previousGrade = doc.previousGrade;
  return record;
}

export function createScoreRecordRepository(connection: Connection): ScoreRecordRepository {
  const model = scoreRecordModel(connection);
  return {
    async saveMany(records) {
      if (records.length === 0) return;
      const createdAt = new Date();
      // The driver's bulk write: the records are built from typed grades, and mongoose's casting of
      // each replacement costs more CPU than the write.
      await connection.collection<ScoreRecordDoc>(model.collection.collectionName).bulkWrite(
        records.map(({ causeEventId, ...rest }) => ({
          replaceOne: {
            filter: { _id: causeEventId },
            replacement: { ...rest, _id: causeEventId, createdAt },
            upsert: true,
          },
        })),
        { ordered: true },
      );
    },
    async save(record) {
      const { causeEventId, ...rest } = record;
      await model
        .replaceOne(
          { _id: causeEventId },
          { ...rest, _id: causeEventId, createdAt: new Date() },
          { upsert: true },
        )
        .exec();
    },
    // Both look up by `_id` alone and check the tenant on the document: FerretDB v1 scans the whole
    // collection for `{ _id, oemId }` but uses the primary key for `{ _id }`.
    async remove({ oemId, causeEventId }) {
      const doc = await model.findOne({ _id: causeEventId }, { oemId: 1 }).lean<ScoreRecordDoc>().exec();
      if (doc !== null && doc.oemId === oemId) await model.deleteOne({ _id: causeEventId }).exec();
    },
    async findByCause({ oemId, causeEventId }) {
      const doc = await model.findOne({ _id: causeEventId }).lean<ScoreRecordDoc>().exec();
      return doc === null || doc.oemId !== oemId ? null : toDomain(doc);
    },
    async listForLead({ oemId, leadId }) {
      const docs = await model.find({ oemId, leadId }).sort({ sequence: 1 }).lean<ScoreRecordDoc[]>().exec();
      return docs.map(toDomain);
    },
  };
}
