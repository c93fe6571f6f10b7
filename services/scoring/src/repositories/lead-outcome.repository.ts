import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { AnyBulkWriteOperation, Connection } from 'mongoose';
import {
  PriorLevels,
  type Outcome,
  type OutcomeCounts,
  type PriorCell,
  type PriorCells,
  type PriorLevel,
} from '../domain/conversion-prior.js';
import {
  counterField,
  counterId,
  countedIdsSlot,
  windowCounts,
  type MonthCounts,
} from '../domain/outcome-counters.js';
import { leadOutcomeModel, type LeadOutcomeDoc } from './lead-outcome.schema.js';
import { outcomeCounterModel, type OutcomeCounterDoc } from './outcome-counter.schema.js';

/** One cell's counts over the learning window. */
export interface ConversionPriorCell extends OutcomeCounts {
  key: string;
  level: PriorLevel;
  channel: string;
  model: string;
  region: string;
}

/** A cell of an OEM, as the counters are read: `cellRef(oemId, key)` keys the answer. */
export interface CellRef {
  oemId: string;
  key: string;
}

export const cellRef = (oemId: string, key: string) => `${oemId}\u0000${key}`;

export interface LeadOutcomeRepository {
  /**
   * Records a lead's outcome as evidence for its three cells. 'already' when the lead has one (a
   * redelivery, or a second outcome under another event id): a lead counts once.
   */
  record(input: {
    oemId: string;
    leadId: string;
    eventId: string;
    outcome: Outcome;
    at: Date;
    month: string;
    cells: PriorCells;
  }): Promise<'recorded' | 'already'>;
  /**
   * The monthly counts of each given cell (one read by `_id` for all of them), keyed by
   * `cellRef(oemId, key)`; a cell without outcomes answers an empty object.
   */
  readCounters(cells: readonly CellRef[]): Promise<Map<string, MonthCounts>>;
  /** Wins and losses of each given cell from `fromMonth` on (every cell answers, zero when unseen). */
  counts(
    filter: TenantFilter<LeadOutcomeDoc> & { cells: PriorCells; fromMonth: string },
  ): Promise<Map<string, OutcomeCounts>>;
  /** Every cell of one level with outcomes since `fromMonth`, optionally of one channel. */
  list(
    filter: TenantFilter<LeadOutcomeDoc> & { level: PriorLevel; channel?: string; fromMonth: string },
  ): Promise<ConversionPriorCell[]>;
  /**
   * Counts what a crash or a restart left uncounted: outcomes recorded but not marked as counted, and
   * (once) the outcomes recorded before the counters existed. Idempotent; returns how many it applied.
   */
  reconcile(): Promise<number>;
}

/** Marks the counters collection once the outcomes from before the counters have been counted. */
const LEGACY_MIGRATION_ID = 'migration:lead_outcomes-to-counters:v1';

type CountedOutcome = Pick<
  LeadOutcomeDoc,
  | '_id'
  | 'oemId'
  | 'eventId'
  | 'outcome'
  | 'month'
  | 'channel'
  | 'model'
  | 'region'
  | 'channelKey'
  | 'modelKey'
  | 'regionKey'
>;

/** The three cells of a stored outcome, from the keys it was recorded with. */
function cellsOf(outcome: CountedOutcome): PriorCell[] {
  const cell = (level: PriorLevel, key: string): PriorCell => {
    const [, , model = '', region = ''] = key.split('|');
    return { level, key, channel: outcome.channel as PriorCell['channel'], model, region };
  };
  return [
    cell('channel', outcome.channelKey),
    cell('channel_model', outcome.modelKey),
    cell('channel_model_region', outcome.regionKey),
  ];
}

/** A cell counter's create-if-missing (an upsert whose filter is only `_id`: it never collides). */
function createCounter(outcome: CountedOutcome, cell: PriorCell): AnyBulkWriteOperation<OutcomeCounterDoc> {
  return {
    updateOne: {
      filter: { _id: counterId(outcome.oemId, cell.key) },
      update: {
        $setOnInsert: {
          oemId: outcome.oemId,
          level: cell.level,
          key: cell.key,
          channel: cell.channel,
          model: cell.model,
          region: cell.region,
          m: {},
          counted0: [],
          counted1: [],
          gen0: 0,
          gen1: 0,
        },
      },
      upsert: true,
    },
  } as AnyBulkWriteOperation<OutcomeCounterDoc>;
}

/** Empties the id slot of this generation if it still holds an older generation's ids. */
function rotateSlot(_id: string, slot: 0 | 1, generation: number): AnyBulkWriteOperation<OutcomeCounterDoc> {
  return {
    updateOne: {
      filter: { _id, [`gen${slot}`]: { $ne: generation } },
      update: { $set: { [`counted${slot}`]: [], [`gen${slot}`]: generation } },
    },
  } as AnyBulkWriteOperation<OutcomeCounterDoc>;
}

/** Increments the month unless the event id was counted, remembering it (one atomic update). */
function increment(
  outcome: CountedOutcome,
  _id: string,
  slot: 0 | 1,
): AnyBulkWriteOperation<OutcomeCounterDoc> {
  return {
    updateOne: {
      filter: { _id, counted0: { $ne: outcome.eventId }, counted1: { $ne: outcome.eventId } },
      update: {
        $inc: { [counterField(outcome.outcome as Outcome, outcome.month)]: 1 },
        $push: { [`counted${slot}`]: outcome.eventId },
      },
    },
  } as AnyBulkWriteOperation<OutcomeCounterDoc>;
}

export function createLeadOutcomeRepository(
  connection: Connection,
  now: () => number = Date.now,
): LeadOutcomeRepository {
  const model = leadOutcomeModel(connection);
  const counters = outcomeCounterModel(connection);

  // Counter slots this process saw rotated in their current generation (a rotation is done once per
  // generation by whoever comes first; this only spares the no-op rotations).
  const rotated = new Set<string>();

  /**
   * Increments the outcome's three counters (at most once per event id), then marks it as counted.
   * Usually one write of the three guarded increments; when one of them matched nothing (the counter
   * does not exist yet, or the event was counted there already) or a slot may need its rotation, one
   * ordered write per cell of create-if-missing, rotation and increment — none of which can fail on a
   * duplicate key, and the guard makes the increments that were done already no-ops.
   */
  async function count(outcome: CountedOutcome): Promise<void> {
    const { slot, generation } = countedIdsSlot(now());
    const cells = cellsOf(outcome).map((cell) => ({ cell, _id: counterId(outcome.oemId, cell.key) }));
    const rotationKey = (id: string) => `${id}:${slot}:${generation}`;
    let done = false;
    if (cells.every(({ _id }) => rotated.has(rotationKey(_id)))) {
      const result = await counters.collection.bulkWrite(
        cells.map(({ _id }) => increment(outcome, _id, slot)) as never[],
        { ordered: true },
      );
      done = result.matchedCount === cells.length;
    }
    if (!done) {
      await counters.collection.bulkWrite(
        cells.flatMap(({ cell, _id }) => [
          createCounter(outcome, cell),
          rotateSlot(_id, slot, generation),
          increment(outcome, _id, slot),
        ]) as never[],
        { ordered: true },
      );
      if (rotated.size > 100_000) rotated.clear();
      for (const { _id } of cells) rotated.add(rotationKey(_id));
    }
    await model.updateOne({ _id: outcome._id }, { $set: { counted: true } }).exec();
  }

  const repository: LeadOutcomeRepository = {
    async record({ oemId, leadId, eventId, outcome, at, month, cells }) {
      const [channel, withModel, withRegion] = cells;
      const doc: LeadOutcomeDoc = {
        _id: `${oemId}|${leadId}`,
        oemId,
        leadId,
        eventId,
        outcome,
        at,
        month,
        channel: withRegion.channel,
        model: withRegion.model,
        region: withRegion.region,
        channelKey: channel.key,
        modelKey: withModel.key,
        regionKey: withRegion.key,
        counted: false,
        createdAt: new Date(),
      };
      try {
        await model.create(doc);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const existing = await model.findOne({ _id: doc._id }).lean<LeadOutcomeDoc>().exec();
        // Counted already (or before the counters: the start-up migration counts those).
        if (existing === null || existing.counted !== false) return 'already';
        // Recorded by a delivery that crashed, or by an instance racing with this one, before its
        // counters were done: apply them (the event id guard makes a second application a no-op).
        await count(existing);
        return 'already';
      }
      await count(doc);
      return 'recorded';
    },

    async readCounters(cells) {
      const answer = new Map<string, MonthCounts>();
      for (const cell of cells) answer.set(cellRef(cell.oemId, cell.key), {});
      if (cells.length === 0) return answer;
      const ids = [...new Set(cells.map((c) => counterId(c.oemId, c.key)))];
      const docs = await counters
        .find({ _id: { $in: ids } }, { oemId: 1, key: 1, m: 1 })
        .lean<Pick<OutcomeCounterDoc, 'oemId' | 'key' | 'm'>[]>()
        .exec();
      for (const doc of docs) {
        const ref = cellRef(doc.oemId, doc.key);
        // The tenant and key are checked on the document, not trusted from the hash.
        if (answer.has(ref)) answer.set(ref, doc.m ?? {});
      }
      return answer;
    },

    async counts({ oemId, cells, fromMonth }) {
      const months = await repository.readCounters(cells.map((cell) => ({ oemId, key: cell.key })));
      return new Map(
        cells.map((cell) => [cell.key, windowCounts(months.get(cellRef(oemId, cell.key)), fromMonth)]),
      );
    },

    async list({ oemId, level, channel, fromMonth }) {
      const docs = await counters
        .find({ oemId }, { level: 1, key: 1, channel: 1, model: 1, region: 1, m: 1 })
        .lean<OutcomeCounterDoc[]>()
        .exec();
      const cells: ConversionPriorCell[] = [];
      for (const doc of docs) {
        if (doc.level !== level || (channel !== undefined && doc.channel !== channel)) continue;
        const counts = windowCounts(doc.m, fromMonth);
        if (counts.wins + counts.losses === 0) continue;
        cells.push({
          key: doc.key,
          level: (PriorLevels as readonly string[]).includes(doc.level) ? doc.level : level,
          channel: doc.channel,
          model: doc.model,
          region: doc.region,
          ...counts,
        });
      }
      return cells.sort((a, b) => a.key.localeCompare(b.key));
    },

    async reconcile() {
      let applied = 0;
      const pending = await model.find({ counted: false }).lean<LeadOutcomeDoc[]>().exec();
      for (const outcome of pending) {
        await count(outcome);
        applied += 1;
      }
      // The marker is no counter (no oemId: no listing finds it), hence the untyped collection.
      const markers = connection.collection<{ _id: string; at: Date }>(counters.collection.collectionName);
      const migrated = await markers.findOne({ _id: LEGACY_MIGRATION_ID });
      if (migrated === null) {
        const legacy = await model
          .find({ counted: { $exists: false } })
          .lean<LeadOutcomeDoc[]>()
          .exec();
        for (const outcome of legacy) {
          await count(outcome);
          applied += 1;
        }
        await markers.updateOne(
          { _id: LEGACY_MIGRATION_ID },
          { $setOnInsert: { at: new Date() } },
          { upsert: true },
        );
      }
      return applied;
    },
  };
  return repository;
}
