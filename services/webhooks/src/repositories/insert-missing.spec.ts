import { describe, expect, it } from 'vitest';
import { insertMissing, uniqueById, type InsertTarget } from './insert-missing.js';

interface Doc {
  _id: string;
  v: number;
}

/** An in-memory collection whose bulk insert stops at its first duplicate key, as FerretDB's does. */
function stopAtFirstFailure(existing: Doc[]) {
  const stored = new Map(existing.map((doc) => [doc._id, doc]));
  const calls: string[][] = [];
  const target: InsertTarget<Doc> = {
    insert(docs) {
      calls.push(docs.map((doc) => doc._id));
      let insertedCount = 0;
      for (const doc of docs) {
        if (stored.has(doc._id)) {
          return Promise.reject(
            Object.assign(new Error('E11000 duplicate key'), { code: 11000, insertedCount }),
          );
        }
        stored.set(doc._id, doc);
        insertedCount += 1;
      }
      return Promise.resolve(insertedCount);
    },
    existing: (ids) => Promise.resolve(new Set(ids.filter((id) => stored.has(id)))),
  };
  return { stored, calls, target };
}

const docs = (...ids: string[]) => ids.map((_id, v) => ({ _id, v }));

describe('insertMissing', () => {
  it('writes everything with one insert when nothing exists', async () => {
    const db = stopAtFirstFailure([]);
    expect(await insertMissing(docs('a', 'b', 'c'), db.target)).toBe(3);
    expect(db.calls).toEqual([['a', 'b', 'c']]);
  });

  it('inserts what is missing after a duplicate stopped the bulk insert, and keeps what existed', async () => {
    const db = stopAtFirstFailure([
      { _id: 'b', v: 99 },
      { _id: 'd', v: 99 },
    ]);
    expect(await insertMissing(docs('a', 'b', 'c', 'd', 'e'), db.target)).toBe(3);
    expect([...db.stored.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(db.stored.get('b')?.v).toBe(99);
    expect(db.calls).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['c', 'e'],
    ]);
  });

  it('writes nothing when everything exists (a redelivered chunk)', async () => {
    const db = stopAtFirstFailure(docs('a', 'b'));
    expect(await insertMissing(docs('a', 'b'), db.target)).toBe(0);
    expect(db.calls).toEqual([['a', 'b']]);
  });

  it('rethrows other errors', async () => {
    const target: InsertTarget<Doc> = {
      insert: () => Promise.reject(new Error('connection reset')),
      existing: () => Promise.resolve(new Set()),
    };
    await expect(insertMissing(docs('a'), target)).rejects.toThrow('connection reset');
  });
});

describe('uniqueById', () => {
  it('keeps the first document of each id, in order', () => {
    expect(uniqueById([...docs('a', 'b'), { _id: 'a', v: 7 }, { _id: 'c', v: 8 }])).toEqual([
      { _id: 'a', v: 0 },
      { _id: 'b', v: 1 },
      { _id: 'c', v: 8 },
    ]);
  });
});
