import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import {
  PriorLevels,
  type Outcome,
  type OutcomeCounts,
  type PriorCells,
  type PriorLevel,
} from '../domain/conversion-prior.js';
import { leadOutcomeModel, type LeadOutcomeDoc } from './lead-outcome.schema.js';

/** One cell's counts over the learning window. */
export interface ConversionPriorCell extends OutcomeCounts {
  key: string;
  level: PriorLevel;
  channel: string;
  model: string;
  region: string;
}

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
  /** Wins and losses of each given cell from `fromMonth` on (every cell answers, zero when unseen). */
  counts(
    filter: TenantFilter<LeadOutcomeDoc> & { cells: PriorCells; fromMonth: string },
  ): Promise<Map<string, OutcomeCounts>>;
  /** Every cell of one level with outcomes since `fromMonth`, optionally of one channel. */
  list(
    filter: TenantFilter<LeadOutcomeDoc> & { level: PriorLevel; channel?: string; fromMonth: string },
  ): Promise<ConversionPriorCell[]>;
}

/** The document field holding each level's cell key. */
const KeyField: Record<PriorLevel, 'channelKey' | 'modelKey' | 'regionKey'> = {
  channel: 'channelKey',
  channel_model: 'modelKey',
  channel_model_region: 'regionKey',
};

export function createLeadOutcomeRepository(connection: Connection): LeadOutcomeRepository {
  const model = leadOutcomeModel(connection);

  const count = (oemId: string, level: PriorLevel, key: string, outcome: Outcome, fromMonth: string) =>
    model.countDocuments({ oemId, [KeyField[level]]: key, outcome, month: { $gte: fromMonth } }).exec();

  return {
    async record({ oemId, leadId, eventId, outcome, at, month, cells }) {
      const [channel, withModel, withRegion] = cells;
      try {
        await model.create({
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
          createdAt: new Date(),
        });
        return 'recorded';
      } catch (error) {
        if (isDuplicateKeyError(error)) return 'already';
        throw error;
      }
    },

    async counts({ oemId, cells, fromMonth }) {
      const entries = await Promise.all(
        cells.map(async (cell) => {
          const [wins, losses] = await Promise.all([
            count(oemId, cell.level, cell.key, 'won', fromMonth),
            count(oemId, cell.level, cell.key, 'defeated', fromMonth),
          ]);
          return [cell.key, { wins, losses }] as const;
        }),
      );
      return new Map(entries);
    },

    async list({ oemId, level, channel, fromMonth }) {
      const field = KeyField[level];
      // One grouping key only: FerretDB v1 drops all but one field of a compound `$group` id.
      const grouped = (outcome: Outcome) =>
        model
          .aggregate<{ _id: string; n: number }>([
            {
              $match: {
                oemId,
                outcome,
                month: { $gte: fromMonth },
                ...(channel === undefined ? {} : { channel }),
              },
            },
            { $group: { _id: `$${field}`, n: { $sum: 1 } } },
          ])
          .exec();
      const [won, defeated] = await Promise.all([grouped('won'), grouped('defeated')]);
      const cells = new Map<string, ConversionPriorCell>();
      const cellOf = (key: string): ConversionPriorCell => {
        const existing = cells.get(key);
        if (existing !== undefined) return existing;
        // Keys are `level|channel|model|region` (priorCells); model names never contain "|".
        const [keyLevel, keyChannel = '', keyModel = '', keyRegion = ''] = key.split('|');
        const cell: ConversionPriorCell = {
          key,
          level: (PriorLevels as readonly string[]).includes(keyLevel ?? '')
            ? (keyLevel as PriorLevel)
            : level,
          channel: keyChannel,
          model: keyModel,
          region: keyRegion,
          wins: 0,
          losses: 0,
        };
        cells.set(key, cell);
        return cell;
      };
      for (const row of won) cellOf(row._id).wins += row.n;
      for (const row of defeated) cellOf(row._id).losses += row.n;
      return [...cells.values()].sort((a, b) => a.key.localeCompare(b.key));
    },
  };
}
