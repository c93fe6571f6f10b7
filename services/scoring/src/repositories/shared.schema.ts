import { Schema } from 'mongoose';

// Sub-schemas shared by the scoring collections. `_id: false` everywhere: these are values, not entities.

export const LocalizedTextSchema = new Schema(
  {
    'zh-CN': { type: String, required: true },
    en: { type: String, required: true },
  },
  { _id: false },
);

export const DictionaryRefSchema = new Schema(
  { brand: { type: String, required: true }, version: { type: Number, required: true } },
  { _id: false },
);

export const ScoreFactorSchema = new Schema(
  {
    factor: { type: String, required: true },
    weight: { type: Number, required: true },
    value: { type: Number, required: true },
    contribution: { type: Number, required: true },
    explanation: { type: LocalizedTextSchema, required: true },
  },
  { _id: false },
);

export const SlaPolicySchema = new Schema(
  {
    id: { type: String, required: true },
    firstContactMinutes: { type: Number, required: true },
    businessTime: { type: Boolean, required: true },
    reminderAtPct: { type: Number, required: true },
    graceMinutes: { type: Number, required: true },
  },
  { _id: false },
);

/** Copies a lean sub-document without mongoose's empty optional fields, so it validates as a contract object. */
export function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined && field !== null) out[key] = field;
  }
  return out as T;
}
