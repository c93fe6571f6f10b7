import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { Counters } from '../domain/counters.js';
import type { BucketKey } from '../domain/lead-counting.js';

/** One event a batch is about to claim for counting, with the increments it would add. */
export interface JournalItem {
  id: string;
  key: BucketKey;
  counters: Counters;
}

/** A batch's journal: written before its claims, so a claim always names a journal that explains it. */
export interface BatchJournal {
  id: string;
  owner: string;
  items: JournalItem[];
}

/** A counter write's journal: the increments it applies and the batch journals it settles. */
export interface WriteJournal {
  id: string;
  owner: string;
  batches: string[];
  /** The serialised roll-up increments (see the counter repository). */
  body: string;
}

interface JournalDoc {
  _id: string;
  kind: 'batch' | 'write';
  owner: string;
  at: Date;
  body: string;
  batches?: string[];
}

interface OwnerDoc {
  _id: string;
  at: Date;
}

/**
 * The counting journal, which makes the projection's counting survive a `kill -9` anywhere:
 *
 * 1. a batch writes its journal (the events it will claim, with their increments) before claiming;
 * 2. the counter write that carries the batch's increments writes its own journal (the increments and
 *    the batch journals it includes) before touching any roll-up document, and marks each document
 *    it updates with its id in the same atomic update, so applying it twice is a no-op;
 * 3. once every document is written, the write's batch journals are deleted, then the write's.
 *
 * Each process heartbeats; the journals of a process whose heartbeat stopped are recovered by a live
 * one (see `recover` in the counter repository): a write journal is applied again (documents that
 * carry its mark are skipped), a batch journal no write includes has its claimed events counted.
 * Journals exist only while counting is in flight, so the collection stays small.
 */
export interface JournalRepository {
  readonly owner: string;
  openBatch(items: readonly JournalItem[]): Promise<string>;
  closeBatches(ids: readonly string[]): Promise<void>;
  openWrite(batches: readonly string[], body: string): Promise<string>;
  closeWrite(id: string, batches: readonly string[]): Promise<void>;
  /** Which of these write journals still exist (their marks on documents must be kept). */
  liveWrites(ids: readonly string[]): Promise<Set<string>>;
  heartbeat(now?: Date): Promise<void>;
  /**
   * Journals to recover: those of owners whose heartbeat is older than `staleMs` (or missing), and
   * any older than `abandonMs` (this process's own, stuck). Batches a write journal includes are
   * left to that write.
   */
  orphans(
    staleMs: number,
    abandonMs: number,
    now?: Date,
  ): Promise<{ writes: WriteJournal[]; batches: BatchJournal[] }>;
  /** Takes an orphan over (so its recovery is not attempted by two processes at once). */
  adopt(id: string, from: string): Promise<boolean>;
  init(): Promise<void>;
}

export function createJournalRepository(
  connection: Connection,
  owner: string = randomUUID(),
): JournalRepository {
  const journals = () => connection.collection<JournalDoc>('count_journal');
  const owners = () => connection.collection<OwnerDoc>('count_journal_owners');
  return {
    owner,
    async init() {
      await this.heartbeat();
    },

    async openBatch(items) {
      const id = `b:${randomUUID()}`;
      await journals().insertOne({
        _id: id,
        kind: 'batch',
        owner,
        at: new Date(),
        body: JSON.stringify(items),
      });
      return id;
    },

    async closeBatches(ids) {
      if (ids.length === 0) return;
      await journals().deleteMany({ _id: { $in: [...ids] } });
    },

    async openWrite(batches, body) {
      const id = `w:${randomUUID()}`;
      await journals().insertOne({
        _id: id,
        kind: 'write',
        owner,
        at: new Date(),
        body,
        batches: [...batches],
      });
      return id;
    },

    async closeWrite(id, batches) {
      // Batches first: a write journal that outlives them only re-applies marked (skipped) documents.
      if (batches.length > 0) await journals().deleteMany({ _id: { $in: [...batches] } });
      await journals().deleteOne({ _id: id });
    },

    async liveWrites(ids) {
      if (ids.length === 0) return new Set();
      const docs = await journals()
        .find({ _id: { $in: [...new Set(ids)] } }, { projection: { _id: 1 } })
        .toArray();
      return new Set(docs.map((d) => d._id));
    },

    async heartbeat(now = new Date()) {
      await owners().updateOne({ _id: owner }, { $set: { at: now } }, { upsert: true });
    },

    async orphans(staleMs, abandonMs, now = new Date()) {
      const all = await journals().find({}).toArray();
      if (all.length === 0) return { writes: [], batches: [] };
      const named = [...new Set(all.map((j) => j.owner))].filter((o) => o !== owner);
      const beats = await owners()
        .find({ _id: { $in: named } })
        .toArray();
      const alive = new Set(beats.filter((b) => now.getTime() - b.at.getTime() <= staleMs).map((b) => b._id));
      alive.add(owner);
      const referenced = new Set(all.flatMap((j) => j.batches ?? []));
      const orphaned = all.filter(
        (j) =>
          (!alive.has(j.owner) || now.getTime() - j.at.getTime() > abandonMs) &&
          (j.kind === 'write' || !referenced.has(j._id)),
      );
      return {
        writes: orphaned
          .filter((j) => j.kind === 'write')
          .map((j) => ({ id: j._id, owner: j.owner, batches: j.batches ?? [], body: j.body })),
        batches: orphaned
          .filter((j) => j.kind === 'batch')
          .map((j) => ({ id: j._id, owner: j.owner, items: JSON.parse(j.body) as JournalItem[] })),
      };
    },

    async adopt(id, from) {
      const result = await journals().updateOne(
        { _id: id, owner: from },
        { $set: { owner, at: new Date() } },
      );
      return result.matchedCount === 1;
    },
  };
}
