import { isDuplicateKeyError } from '@leadflow/platform/kafka';

/** Rounds per call before giving up on documents that keep appearing under us. */
const MAX_ROUNDS = 5;

export interface InsertTarget<T> {
  /** One ordered bulk insert; resolves to how many documents it wrote. */
  insert(docs: T[]): Promise<number>;
  /** Which of `ids` exist (an `_id $in` read: an index lookup on FerretDB and MongoDB). */
  existing(ids: string[]): Promise<Set<string>>;
}

/**
 * Inserts the documents whose `_id` does not exist yet, in order, with one bulk insert in the common
 * case. Idempotent by deterministic `_id`, and it does not rely on continue-on-error: FerretDB stops a
 * bulk insert at its first failed statement even when unordered, so on a duplicate key the ids that
 * exist are read back and only the rest is inserted again. Returns how many documents this call
 * inserted (a hint: a round cut short by a duplicate key may count less than it wrote).
 */
export async function insertMissing<T extends { _id: string }>(
  docs: readonly T[],
  target: InsertTarget<T>,
): Promise<number> {
  let pending = uniqueById(docs);
  let inserted = 0;
  for (let round = 1; pending.length > 0; round += 1) {
    try {
      return inserted + (await target.insert(pending));
    } catch (error) {
      if (!isDuplicateKeyError(error) || round >= MAX_ROUNDS) throw error;
      const count = (error as { insertedCount?: unknown }).insertedCount;
      if (typeof count === 'number') inserted += count;
      const seen = await target.existing(pending.map((doc) => doc._id));
      pending = pending.filter((doc) => !seen.has(doc._id));
    }
  }
  return inserted;
}

/** The first document of each `_id`, in order. */
export function uniqueById<T extends { _id: string }>(docs: readonly T[]): T[] {
  const seen = new Set<string>();
  return docs.filter((doc) => {
    if (seen.has(doc._id)) return false;
    seen.add(doc._id);
    return true;
  });
}
