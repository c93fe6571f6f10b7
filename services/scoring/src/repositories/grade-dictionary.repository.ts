import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type {
  GradeDefinition,
  GradeDictionary,
  GradeDictionaryContent,
  GradeDictionaryRules,
} from '../domain/grade-dictionaries.js';
import { gradeDictionaryModel, type GradeDictionaryDoc } from './grade-dictionary.schema.js';

export interface StoredGradeDictionary extends GradeDictionary {
  createdBy: string;
  createdAt: Date;
}

export type CreateVersionResult =
  | { ok: true; dictionary: StoredGradeDictionary }
  | { ok: false; reason: 'version_conflict'; currentVersion: number | undefined };

export interface GradeDictionaryRepository {
  /** The highest active version of a brand, or null when the OEM has none. */
  findActive(
    filter: TenantFilter<GradeDictionaryDoc> & { brand: string },
  ): Promise<StoredGradeDictionary | null>;
  findVersion(
    filter: TenantFilter<GradeDictionaryDoc> & { brand: string; version: number },
  ): Promise<StoredGradeDictionary | null>;
  /** Active versions (one per brand), or every version of every brand when `history` is set. */
  list(
    filter: TenantFilter<GradeDictionaryDoc> & { brand?: string },
    options?: { history?: boolean },
  ): Promise<StoredGradeDictionary[]>;
  /** Writes version 1 from a preset unless the brand already has a version 1. Idempotent. */
  seed(oemId: string, brand: string, content: GradeDictionaryContent): Promise<void>;
  /**
   * Appends version n+1 and deactivates the older ones. `expectedVersion` (optimistic concurrency)
   * makes a stale editor fail instead of silently replacing a colleague's version.
   */
  createVersion(input: {
    oemId: string;
    brand: string;
    content: GradeDictionaryContent;
    createdBy: string;
    expectedVersion?: number;
  }): Promise<CreateVersionResult>;
}

const docId = (oemId: string, brand: string, version: number) => `${oemId}:${brand}:${version}`;

function toGrade(doc: GradeDictionaryDoc['grades'][number]): GradeDefinition {
  const grade: GradeDefinition = {
    code: doc.code,
    labels: { 'zh-CN': doc.labels['zh-CN'], en: doc.labels.en },
    criteria: doc.criteria.map((c) => ({ 'zh-CN': c['zh-CN'], en: c.en })),
    followUpIntervalDays: doc.followUpIntervalDays,
    firstContactSlaMinutes: doc.firstContactSlaMinutes,
    nurtureTrack: doc.nurtureTrack as GradeDefinition['nurtureTrack'],
  };
  if (typeof doc.purchaseWindowDays === 'number') grade.purchaseWindowDays = doc.purchaseWindowDays;
  if (typeof doc.minPurchaseWindowDays === 'number') grade.minPurchaseWindowDays = doc.minPurchaseWindowDays;
  if (doc.onOrder === true) grade.onOrder = true;
  if (doc.requires.length > 0) grade.requires = doc.requires as NonNullable<GradeDefinition['requires']>;
  return grade;
}

function toRules(rules: GradeDictionaryDoc['rules']): GradeDictionaryRules {
  const out: GradeDictionaryRules = {};
  if (rules.gradeLock) {
    out.gradeLock = {
      afterCalls: rules.gradeLock.afterCalls,
      withinDays: rules.gradeLock.withinDays,
      lockedTriggers: rules.gradeLock.lockedTriggers as NonNullable<
        GradeDictionaryRules['gradeLock']
      >['lockedTriggers'],
    };
  }
  if (typeof rules.promoteOnVisit === 'number') out.promoteOnVisit = rules.promoteOnVisit;
  if (typeof rules.promoteOnTestDrive === 'number') out.promoteOnTestDrive = rules.promoteOnTestDrive;
  return out;
}

function toDomain(doc: GradeDictionaryDoc): StoredGradeDictionary {
  return {
    oemId: doc.oemId,
    brand: doc.brand,
    version: doc.version,
    active: doc.active,
    grades: doc.grades.map(toGrade),
    rules: toRules(doc.rules),
    createdBy: doc.createdBy,
    createdAt: doc.createdAt,
  };
}

function toDoc(
  oemId: string,
  brand: string,
  version: number,
  content: GradeDictionaryContent,
  createdBy: string,
): GradeDictionaryDoc {
  return {
    _id: docId(oemId, brand, version),
    oemId,
    brand,
    version,
    grades: content.grades.map((g) => ({
      ...g,
      requires: [...(g.requires ?? [])],
      criteria: [...g.criteria],
    })),
    rules: content.rules,
    active: true,
    createdBy,
    createdAt: new Date(),
  };
}

export function createGradeDictionaryRepository(connection: Connection): GradeDictionaryRepository {
  const model = gradeDictionaryModel(connection);

  const latest = async (oemId: string, brand: string, activeOnly: boolean) =>
    model
      .findOne({ oemId, brand, ...(activeOnly ? { active: true } : {}) })
      .sort({ version: -1 })
      .lean<GradeDictionaryDoc>()
      .exec();

  return {
    async findActive(filter) {
      const doc = await latest(filter.oemId, filter.brand, true);
      return doc === null ? null : toDomain(doc);
    },

    async findVersion(filter) {
      const doc = await model
        .findOne({ oemId: filter.oemId, brand: filter.brand, version: filter.version })
        .lean<GradeDictionaryDoc>()
        .exec();
      return doc === null ? null : toDomain(doc);
    },

    async list(filter, options = {}) {
      const docs = await model
        .find({ oemId: filter.oemId, ...(filter.brand === undefined ? {} : { brand: filter.brand }) })
        .sort({ brand: 1, version: -1 })
        .lean<GradeDictionaryDoc[]>()
        .exec();
      if (options.history === true) return docs.map(toDomain);
      // The highest active version per brand: a crash between inserting a version and deactivating the
      // old one may leave two active, and the newer one is the truth.
      const seen = new Set<string>();
      const active: StoredGradeDictionary[] = [];
      for (const doc of docs) {
        if (!doc.active || seen.has(doc.brand)) continue;
        seen.add(doc.brand);
        active.push(toDomain(doc));
      }
      return active;
    },

    async seed(oemId, brand, content) {
      try {
        await model.create(toDoc(oemId, brand, 1, content, 'preset'));
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    },

    async createVersion({ oemId, brand, content, createdBy, expectedVersion }) {
      const current = await latest(oemId, brand, false);
      const currentVersion = current?.version;
      if (expectedVersion !== undefined && expectedVersion !== (currentVersion ?? 0)) {
        return { ok: false, reason: 'version_conflict', currentVersion };
      }
      const version = (currentVersion ?? 0) + 1;
      const doc = toDoc(oemId, brand, version, content, createdBy);
      try {
        await model.create(doc);
      } catch (error) {
        // Another editor took this version number first.
        if (isDuplicateKeyError(error))
          return { ok: false, reason: 'version_conflict', currentVersion: version };
        throw error;
      }
      await model
        .updateMany({ oemId, brand, version: { $lt: version }, active: true }, { $set: { active: false } })
        .exec();
      return { ok: true, dictionary: toDomain(doc) };
    },
  };
}
