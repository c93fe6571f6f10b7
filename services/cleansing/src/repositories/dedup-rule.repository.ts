import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { DEFAULT_DEDUP_RULE, type DedupRule, type DedupScope, type MatchKey } from '../domain/dedup.js';
import { dedupRuleModel } from './dedup-rule.schema.js';

export interface DedupRuleChange {
  matchKeys: MatchKey[];
  windowDays: number;
  scope: DedupScope;
}

export type SaveResult = { ok: true; rule: DedupRule } | { ok: false; currentVersion: number };

export interface DedupRuleRepository {
  /** The OEM's rule, or the default when it never stored one. */
  get(oemId: string): Promise<DedupRule>;
  /** Stores version `expectedVersion + 1` if the stored version is still `expectedVersion`. */
  save(
    oemId: string,
    expectedVersion: number,
    change: DedupRuleChange,
    updatedBy: string,
  ): Promise<SaveResult>;
}

/** The rule id recorded on decisions: OEM and version, so old decisions stay explainable after edits. */
export const ruleIdOf = (oemId: string, version: number) => `dedup-${oemId}-v${version}`;

export function createDedupRuleRepository(deps: { connection: Connection }): DedupRuleRepository {
  const Rule = dedupRuleModel(deps.connection);
  const currentVersion = async (oemId: string) =>
    (await Rule.findOne({ _id: oemId, oemId }).lean().exec())?.version ?? 0;
  return {
    async get(oemId) {
      const doc = await Rule.findOne({ _id: oemId, oemId }).lean().exec();
      if (doc === null) return DEFAULT_DEDUP_RULE;
      return {
        id: ruleIdOf(oemId, doc.version),
        version: doc.version,
        matchKeys: doc.matchKeys,
        windowDays: doc.windowDays,
        scope: doc.scope,
      };
    },

    async save(oemId, expectedVersion, change, updatedBy) {
      const version = expectedVersion + 1;
      const fields = { ...change, oemId, version, updatedAt: new Date(), updatedBy };
      if (expectedVersion === 0) {
        try {
          await Rule.create({ _id: oemId, ...fields });
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          return { ok: false, currentVersion: await currentVersion(oemId) };
        }
      } else {
        const result = await Rule.updateOne(
          { _id: oemId, oemId, version: expectedVersion },
          { $set: fields },
        );
        if (result.matchedCount === 0) return { ok: false, currentVersion: await currentVersion(oemId) };
      }
      return { ok: true, rule: { id: ruleIdOf(oemId, version), version, ...change } };
    },
  };
}
