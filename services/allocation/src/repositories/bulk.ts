import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Model } from 'mongoose';

/*
 * An unordered bulkWrite of updates on FerretDB v1 stops at the first failing statement (measured: of
 * three guarded upserts, the second hit a duplicate key, the third was not applied, and the one error
 * reported said index 0). So counters here never rely on "continue on error": their documents are
 * created first, then every operation is a guarded update without upsert, which cannot fail on a
 * duplicate key. (An unordered insertMany does go on past a duplicate there, with the right index;
 * inserts run in order anyway, so the outcome does not depend on that.)
 */

/** Index of the first failed statement of an ordered write, when the error says it. */
function failedIndex(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const writeErrors = (error as { writeErrors?: { index?: unknown }[] }).writeErrors;
  const index = writeErrors?.[0]?.index;
  return typeof index === 'number' ? index : undefined;
}

/**
 * Inserts `docs` in order; returns the ids that already existed (left as they were). One round trip
 * when nothing exists yet, one more per duplicate met.
 */
export async function insertInOrder<T extends { _id: string }>(
  model: Model<T>,
  docs: readonly T[],
): Promise<Set<string>> {
  const existed = new Set<string>();
  let pending = [...docs];
  while (pending.length > 0) {
    try {
      await model.insertMany(pending, { ordered: true });
      return existed;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const index = failedIndex(error);
      // Ordered: everything before the failed one was inserted, nothing after it was tried.
      if (index === undefined) {
        // Which one is not said: insert the rest one at a time.
        for (const doc of pending) {
          try {
            await model.create(doc);
          } catch (one) {
            if (!isDuplicateKeyError(one)) throw one;
            existed.add(doc._id);
          }
        }
        return existed;
      }
      const failed = pending[index];
      if (failed !== undefined) existed.add(failed._id);
      pending = pending.slice(index + 1);
    }
  }
  return existed;
}

/**
 * Creates the documents of `docs` that do not exist yet (by `_id`): one look-up and usually one insert.
 * A duplicate met while inserting (another writer created some meanwhile) means looking again, so a
 * race costs one round trip more, not one per document.
 */
export async function createMissing<T extends { _id: string }>(
  model: Model<T>,
  docs: readonly T[],
): Promise<void> {
  let pending = [...new Map(docs.map((d) => [d._id, d])).values()];
  for (let round = 0; pending.length > 0; round += 1) {
    const found = await model
      .find({ _id: { $in: pending.map((d) => d._id) } }, { _id: 1 })
      .lean<{ _id: string }[]>();
    const existing = new Set(found.map((d) => d._id));
    pending = pending.filter((d) => !existing.has(d._id));
    if (pending.length === 0) return;
    if (round >= 3) {
      await insertInOrder(model, pending);
      return;
    }
    try {
      await model.insertMany(pending, { ordered: true });
      return;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
}
