import { ChannelL1s, ChannelL2s, LeadMarkers } from '@leadflow/contracts/common';
import { Schema, type Connection, type Model } from 'mongoose';
import { PriorLevels } from '../domain/conversion-prior.js';
import {
  DictionaryRefSchema,
  LocalizedTextSchema,
  ScoreFactorSchema,
  SlaPolicySchema,
} from './shared.schema.js';

type Localized = { 'zh-CN': string; en: string };

/**
 * The stored form of the contract's `Intent`: its two free unions (timeframe and budget are words or
 * numbers) are split into typed fields, so nothing is stored as an untyped value.
 */
export interface IntentDoc {
  brand?: string;
  series?: string;
  model?: string;
  timeframeText?: string;
  timeframeDays?: number;
  budgetText?: string;
  budgetAmount?: number;
  testDrive?: boolean;
  tradeIn?: boolean;
  preferredDealerId?: string;
  message?: string;
}

/** A lead's current grade, the inputs it was derived from and the bookkeeping for regrades. */
export interface LeadGradeDoc {
  /** The lead id: one current grade per lead. */
  _id: string;
  oemId: string;
  /** The dealer (and agent) that owns the lead, as last seen on a lifecycle event; scopes dealer reads. */
  dealerId?: string;
  agentId?: string;
  customerId: string;
  customerKey: string;
  channel: { l1: string; l2: string; l3: string };
  region: { province?: string; city?: string; adcode?: string };
  intent: IntentDoc;
  markers: string[];
  showroomDealerId?: string;
  previousStatus?: string;
  receivedAt: Date;
  profile: { hasName: boolean; hasGender: boolean; hasContact: boolean; marketingConsent: boolean };
  dictionary: { brand: string; version: number };
  grade: string;
  score: number;
  factors: { factor: string; weight: number; value: number; contribution: number; explanation: Localized }[];
  explanation: Localized;
  reasons: Localized[];
  purchaseWindowDays?: number;
  followUpIntervalDays: number;
  slaPolicy: {
    id: string;
    firstContactMinutes: number;
    businessTime: boolean;
    reminderAtPct: number;
    graceMinutes: number;
  };
  channelPrior?: {
    value: number;
    base: number;
    smoothing: number;
    channel: string;
    model: string;
    region: string;
    levels: { level: string; key: string; wins: number; losses: number; rate: number }[];
    explanation: Localized;
  };
  regradeCount: number;
  lock: { callsAt: string[]; lockedAt?: string };
  engagement: { visited?: boolean; testDriven?: boolean; ordered?: boolean };
  /** Lifecycle events already applied: the state guard that keeps a redelivery from counting a call twice. */
  appliedEventIds: string[];
  /** The id of the scoring event that announced the current grade. */
  lastEventId: string;
  /**
   * The `lead.scored` envelope of the first grade, serialized once, written with the grade itself: a
   * redelivered or raced intake event re-publishes these bytes, never a second result. Absent on
   * grades written before it existed (their score record holds it).
   */
  scoredEnvelope?: string;
  /** Optimistic-concurrency counter for `{ _id, version }` conditional updates. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const IntentSchema = new Schema<IntentDoc>(
  {
    brand: String,
    series: String,
    model: String,
    timeframeText: String,
    timeframeDays: Number,
    budgetText: String,
    budgetAmount: Number,
    testDrive: Boolean,
    tradeIn: Boolean,
    preferredDealerId: String,
    message: String,
  },
  { _id: false },
);

export const LeadGradeSchema = new Schema<LeadGradeDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: String,
    agentId: String,
    customerId: { type: String, required: true },
    customerKey: { type: String, required: true },
    channel: {
      type: new Schema(
        {
          l1: { type: String, enum: ChannelL1s, required: true },
          l2: { type: String, enum: ChannelL2s, required: true },
          l3: { type: String, required: true },
        },
        { _id: false },
      ),
      required: true,
    },
    region: {
      type: new Schema({ province: String, city: String, adcode: String }, { _id: false }),
      default: {},
    },
    intent: { type: IntentSchema, default: {} },
    markers: { type: [{ type: String, enum: LeadMarkers }], default: [] },
    showroomDealerId: String,
    previousStatus: String,
    receivedAt: { type: Date, required: true },
    profile: {
      type: new Schema(
        {
          hasName: { type: Boolean, required: true },
          hasGender: { type: Boolean, required: true },
          hasContact: { type: Boolean, required: true },
          marketingConsent: { type: Boolean, required: true },
        },
        { _id: false },
      ),
      required: true,
    },
    dictionary: { type: DictionaryRefSchema, required: true },
    grade: { type: String, required: true },
    score: { type: Number, required: true },
    factors: { type: [ScoreFactorSchema], default: [] },
    explanation: { type: LocalizedTextSchema, required: true },
    reasons: { type: [LocalizedTextSchema], default: [] },
    purchaseWindowDays: Number,
    followUpIntervalDays: { type: Number, required: true },
    slaPolicy: { type: SlaPolicySchema, required: true },
    channelPrior: {
      type: new Schema(
        {
          value: { type: Number, required: true },
          base: { type: Number, required: true },
          smoothing: { type: Number, required: true },
          channel: { type: String, required: true },
          model: { type: String, required: true },
          region: { type: String, required: true },
          levels: {
            type: [
              new Schema(
                {
                  level: { type: String, enum: PriorLevels, required: true },
                  key: { type: String, required: true },
                  wins: { type: Number, required: true },
                  losses: { type: Number, required: true },
                  rate: { type: Number, required: true },
                },
                { _id: false },
              ),
            ],
            default: [],
          },
          explanation: { type: LocalizedTextSchema, required: true },
        },
        { _id: false },
      ),
    },
    regradeCount: { type: Number, required: true },
    lock: {
      type: new Schema({ callsAt: { type: [String], default: [] }, lockedAt: String }, { _id: false }),
      default: { callsAt: [] },
    },
    engagement: {
      type: new Schema({ visited: Boolean, testDriven: Boolean, ordered: Boolean }, { _id: false }),
      default: {},
    },
    appliedEventIds: { type: [String], default: [] },
    lastEventId: { type: String, required: true },
    scoredEnvelope: String,
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'lead_grades', versionKey: false, strict: 'throw' },
);
// No secondary index: every read is by lead id (`_id`) plus the tenant key.

export function leadGradeModel(connection: Connection): Model<LeadGradeDoc> {
  return connection.model<LeadGradeDoc>('LeadGrade', LeadGradeSchema);
}
