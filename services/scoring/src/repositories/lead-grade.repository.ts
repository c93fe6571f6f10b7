import type { ChannelRef, Intent, LeadMarker, Region } from '@leadflow/contracts/common';
import { isDuplicateKeyError, onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type { ChannelPrior, PriorLevel } from '../domain/conversion-prior.js';
import type { LocalizedText } from '../domain/grade-dictionaries.js';
import type { GradeLockState } from '../domain/regrade.js';
import type { Engagement, ScoreFactor } from '../domain/score.js';
import type { SlaPolicy } from '../domain/sla-policy.js';
import { leadGradeModel, type IntentDoc, type LeadGradeDoc } from './lead-grade.schema.js';
import { compact } from './shared.schema.js';

/** A lead's current grade as the use cases see it (contract types, ISO timestamps). */
export interface LeadGrade {
  leadId: string;
  oemId: string;
  dealerId?: string;
  agentId?: string;
  customerId: string;
  customerKey: string;
  channel: ChannelRef;
  region: Region;
  intent: Intent;
  markers: LeadMarker[];
  showroomDealerId?: string;
  previousStatus?: 'invalid' | 'defeated' | 'archived';
  receivedAt: string;
  profile: { hasName: boolean; hasGender: boolean; hasContact: boolean; marketingConsent: boolean };
  dictionary: { brand: string; version: number };
  grade: string;
  score: number;
  factors: ScoreFactor[];
  explanation: LocalizedText;
  reasons: LocalizedText[];
  purchaseWindowDays?: number;
  followUpIntervalDays: number;
  slaPolicy: SlaPolicy;
  /** The learnt channel × model × region prior behind the channel factor (absent on old grades). */
  channelPrior?: ChannelPrior;
  regradeCount: number;
  lock: GradeLockState;
  engagement: Engagement;
  appliedEventIds: string[];
  lastEventId: string;
  /** The first grade's `lead.scored` envelope as published (absent on grades from before it was kept). */
  scoredEnvelope?: string;
  version: number;
  updatedAt: string;
}

/** What a new grade is written with. */
export type NewLeadGrade = Omit<LeadGrade, 'version' | 'updatedAt' | 'appliedEventIds'>;

/** What a regrade (or a no-change lifecycle event) may change. */
export type LeadGradeChanges = Partial<
  Pick<
    LeadGrade,
    | 'dealerId'
    | 'agentId'
    | 'intent'
    | 'grade'
    | 'score'
    | 'factors'
    | 'explanation'
    | 'reasons'
    | 'purchaseWindowDays'
    | 'followUpIntervalDays'
    | 'slaPolicy'
    | 'channelPrior'
    | 'regradeCount'
    | 'lock'
    | 'engagement'
    | 'lastEventId'
  >
>;

export interface LeadGradeRepository {
  find(filter: TenantFilter<LeadGradeDoc> & { leadId: string }): Promise<LeadGrade | null>;
  /** The grades of many leads in one read by `_id`, keyed by lead id (leads of another OEM are left out). */
  findMany(leads: readonly { oemId: string; leadId: string }[]): Promise<Map<string, LeadGrade>>;
  /** False when the lead already has a grade (a redelivery or a concurrent instance got there first). */
  insert(grade: NewLeadGrade): Promise<boolean>;
  /**
   * Inserts many new grades in one write. Returns the lead ids that already had a grade (a redelivery
   * or a concurrent instance got there first); every other grade is written.
   */
  insertMany(grades: readonly NewLeadGrade[]): Promise<Set<string>>;
  /**
   * Applies `changes` and records `appliedEventId` if the document is still at `version`. False when
   * someone else changed it in between: re-read and decide again.
   */
  update(
    filter: TenantFilter<LeadGradeDoc> & { leadId: string; version: number },
    changes: LeadGradeChanges,
    appliedEventId: string,
  ): Promise<boolean>;
}

export function intentToDoc(intent: Intent): IntentDoc {
  const { timeframe, budget, ...rest } = intent;
  return compact({
    ...rest,
    timeframeText: typeof timeframe === 'string' ? timeframe : undefined,
    timeframeDays: typeof timeframe === 'number' ? timeframe : undefined,
    budgetText: typeof budget === 'string' ? budget : undefined,
    budgetAmount: typeof budget === 'number' ? budget : undefined,
  });
}

export function intentFromDoc(doc: IntentDoc): Intent {
  const { timeframeText, timeframeDays, budgetText, budgetAmount, ...rest } = doc;
  return compact({
    ...rest,
    timeframe: timeframeText ?? timeframeDays,
    budget: budgetText ?? budgetAmount,
  });
}

function channelPriorFromDoc(doc: NonNullable<LeadGradeDoc['channelPrior']>): ChannelPrior {
  return {
    value: doc.value,
    base: doc.base,
    smoothing: doc.smoothing,
    channel: doc.channel as ChannelPrior['channel'],
    model: doc.model,
    region: doc.region,
    levels: doc.levels.map((l) => ({
      level: l.level as PriorLevel,
      key: l.key,
      wins: l.wins,
      losses: l.losses,
      rate: l.rate,
    })),
    explanation: { 'zh-CN': doc.explanation['zh-CN'], en: doc.explanation.en },
  };
}

/**
 * The stored document as read back: mongoose does not store empty sub-documents (`minimize`), so a
 * lead without region, intent, engagement or lock state comes back without those fields at all.
 */
type StoredLeadGradeDoc = Omit<LeadGradeDoc, 'region' | 'intent' | 'engagement' | 'lock'> &
  Partial<Pick<LeadGradeDoc, 'region' | 'intent' | 'engagement' | 'lock'>>;

function toDomain(stored: StoredLeadGradeDoc): LeadGrade {
  const doc: LeadGradeDoc = {
    ...stored,
    region: stored.region ?? {},
    intent: stored.intent ?? {},
    engagement: stored.engagement ?? {},
    lock: {
      callsAt: stored.lock?.callsAt ?? [],
      ...(stored.lock?.lockedAt ? { lockedAt: stored.lock.lockedAt } : {}),
    },
  };
  const lock: GradeLockState = { callsAt: [...doc.lock.callsAt] };
  if (doc.lock.lockedAt) lock.lockedAt = doc.lock.lockedAt;
  return compact({
    leadId: doc._id,
    oemId: doc.oemId,
    dealerId: doc.dealerId,
    agentId: doc.agentId,
    customerId: doc.customerId,
    customerKey: doc.customerKey,
    channel: { l1: doc.channel.l1, l2: doc.channel.l2, l3: doc.channel.l3 } as ChannelRef,
    region: compact({ province: doc.region.province, city: doc.region.city, adcode: doc.region.adcode }),
    intent: intentFromDoc(doc.intent),
    markers: doc.markers as LeadMarker[],
    showroomDealerId: doc.showroomDealerId,
    previousStatus: doc.previousStatus as LeadGrade['previousStatus'],
    receivedAt: doc.receivedAt.toISOString(),
    profile: { ...doc.profile },
    dictionary: { brand: doc.dictionary.brand, version: doc.dictionary.version },
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
    purchaseWindowDays: doc.purchaseWindowDays,
    followUpIntervalDays: doc.followUpIntervalDays,
    slaPolicy: { ...doc.slaPolicy },
    channelPrior: doc.channelPrior ? channelPriorFromDoc(doc.channelPrior) : undefined,
    regradeCount: doc.regradeCount,
    lock,
    engagement: compact({ ...doc.engagement }),
    appliedEventIds: [...doc.appliedEventIds],
    lastEventId: doc.lastEventId,
    scoredEnvelope: doc.scoredEnvelope,
    version: doc.version,
    updatedAt: doc.updatedAt.toISOString(),
  });
}

function changesToDoc(changes: LeadGradeChanges): Partial<LeadGradeDoc> {
  const { intent, ...rest } = changes;
  return compact({ ...rest, ...(intent === undefined ? {} : { intent: intentToDoc(intent) }) });
}

function newDoc(grade: NewLeadGrade, now: Date) {
  const { leadId, intent, receivedAt, ...rest } = grade;
  return {
    ...rest,
    _id: leadId,
    intent: intentToDoc(intent),
    receivedAt: new Date(receivedAt),
    appliedEventIds: [],
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

export function createLeadGradeRepository(connection: Connection): LeadGradeRepository {
  const model = leadGradeModel(connection);
  const repository: LeadGradeRepository = {
    async find({ oemId, leadId }) {
      // By `_id` alone, the tenant checked on the document: FerretDB v1 only uses the primary key for
      // a filter on `_id` by itself, and scans the whole collection for `{ _id, oemId }` (measured:
      // 50 ms against 800 ms with 200 documents).
      const doc = await model.findOne({ _id: leadId }).lean<StoredLeadGradeDoc>().exec();
      return doc === null || doc.oemId !== oemId ? null : toDomain(doc);
    },

    async findMany(leads) {
      const found = new Map<string, LeadGrade>();
      if (leads.length === 0) return found;
      const tenantOf = new Map(leads.map((l) => [l.leadId, l.oemId] as const));
      const docs = await model
        .find({ _id: { $in: [...tenantOf.keys()] } })
        .lean<StoredLeadGradeDoc[]>()
        .exec();
      for (const doc of docs) if (tenantOf.get(doc._id) === doc.oemId) found.set(doc._id, toDomain(doc));
      return found;
    },

    async insert(grade) {
      try {
        await model.create(newDoc(grade, new Date()));
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    async insertMany(grades) {
      if (grades.length === 0) return new Set();
      const now = new Date();
      try {
        // Lean: the documents are built here from typed grades (no casting to do), and hydrating and
        // validating a batch of these nested documents cost more CPU than the write itself.
        await model.insertMany(
          grades.map((g) => newDoc(g, now)),
          { ordered: false, lean: true },
        );
        return new Set();
      } catch (error) {
        // Unordered: every other grade was written; the duplicates are leads graded before.
        if (!onlyDuplicateKeys(error)) throw error;
      }
      // Which ones lost: the stored grade is not the one we wrote (compared by its envelope).
      const stored = await repository.findMany(grades);
      const lost = new Set<string>();
      for (const grade of grades) {
        const doc = stored.get(grade.leadId);
        if (doc === undefined || doc.scoredEnvelope !== grade.scoredEnvelope) lost.add(grade.leadId);
      }
      return lost;
    },

    async update({ oemId, leadId, version }, changes, appliedEventId) {
      const result = await model
        .updateOne(
          { _id: leadId, oemId, version },
          {
            $set: { ...changesToDoc(changes), updatedAt: new Date() },
            $inc: { version: 1 },
            $push: { appliedEventIds: appliedEventId },
          },
        )
        .exec();
      return result.matchedCount === 1;
    },
  };
  return repository;
}
