/**
 * Runs async work one at a time per key, in call order; different keys run in parallel.
 *
 * Why: FerretDB v1 applies an update as an unlocked read-modify-write of the whole document, so two
 * concurrent updates of one document lose one of them (50 concurrent `$inc` of one field end at ~16).
 * The projection updates one lead snapshot or one counter bucket from several partitions at once, so
 * its writes to one document are serialised here. MongoDB updates documents atomically and needs none
 * of this; with several reporting instances on FerretDB the race would remain, so production runs on
 * MongoDB (see README).
 */
export interface KeyedLock {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<unknown>>();
  return {
    async run(key, work) {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(work, work);
      const tail = result.catch(() => undefined);
      tails.set(key, tail);
      try {
        return await result;
      } finally {
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}
