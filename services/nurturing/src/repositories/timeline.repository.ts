import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import { timelineModel, type TimelineDoc } from './timeline.schema.js';

export type TimelineRecord = TimelineDoc;

export interface TimelineRepository {
  /** Inserts the record once; a second call with the same `_id` (an activity retry) is a no-op. */
  record(entry: TimelineRecord): Promise<void>;
  /** The lead's actions in time order. */
  forLead(filter: TenantFilter<TimelineDoc> & { leadId: string }): Promise<TimelineRecord[]>;
}

export function createTimelineRepository({ connection }: { connection: Connection }): TimelineRepository {
  const model = timelineModel(connection);
  return {
    async record(entry) {
      try {
        await model.create(entry);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    },
    async forLead(filter) {
      return model.find(filter).sort({ at: 1, _id: 1 }).limit(1_000).lean<TimelineRecord[]>().exec();
    },
  };
}
