import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import {
  attemptModel,
  deliveryModel,
  scheduleModel,
  type AttemptDoc,
  type AttemptOutcome,
  type DeliveryDoc,
  type DeliveryState,
  type OutcomeDoc,
  type ScheduleDoc,
} from './delivery.schema.js';
import { insertMissing, uniqueById } from './insert-missing.js';

export type StoredDelivery = DeliveryDoc;
/** A delivery as the dispatcher sees it: its schedule entry. */
export type ScheduledDelivery = ScheduleDoc;
export type ScheduleEntry = Omit<ScheduleDoc, 'body'>;
export type StoredAttempt = AttemptDoc;
/** A delivery to enqueue: its log entry plus the body its schedule entry carries. */
export type NewDelivery = DeliveryDoc & { body: string };

export type ClaimResult =
  | { claimed: true; attempt: StoredAttempt; firstAttemptAt: Date }
  /** Another instance holds the attempt: leave the delivery alone. */
  | { claimed: false; ended?: undefined }
  /** The delivery ended already (its schedule entry outlived it): clean up, send nothing. */
  | { claimed: false; ended: OutcomeDoc };

export interface DeliveryLogQuery {
  owner: string;
  subscriptionId: string;
  state?: DeliveryState;
  eventId?: string;
  leadId?: string;
  /** Entries created before this (createdAt, id): the cursor of the previous page. */
  before?: { createdAt: Date; id: string };
  limit: number;
}

export interface DeliveryRepository {
  init(): Promise<void>;
  /** Logs and schedules the deliveries that do not exist yet; returns how many were new. */
  enqueue(deliveries: NewDelivery[]): Promise<number>;
  /**
   * Every scheduled delivery without its body: what the dispatcher picks lane heads from. One read
   * per poll instead of one query per candidate, because FerretDB scans for any query but `_id`.
   */
  snapshot(): Promise<ScheduleEntry[]>;
  /** One scheduled delivery with its body, or null once it has ended. */
  scheduled(id: string): Promise<ScheduledDelivery | null>;
  /**
   * Claims the next attempt by inserting its record `${id}#${n}`. The schedule's attempt count is
   * only where the search starts: an existing record that has finished is stepped over, one still
   * in flight within its lease means another instance is on it, and one whose lease ran out belonged
   * to an instance that died and is marked abandoned before the next number is claimed.
   */
  claim(delivery: ScheduledDelivery, instance: string, now: Date, leaseUntil: Date): Promise<ClaimResult>;
  /** Records how a delivery ended; false when it had ended already. */
  recordOutcome(outcome: OutcomeDoc): Promise<boolean>;
  outcomeOf(id: string): Promise<OutcomeDoc | null>;
  finishAttempt(
    attempt: StoredAttempt,
    outcome: Exclude<AttemptOutcome, 'in_flight'>,
    result: { status?: number; error?: string; durationMs: number },
    now: Date,
  ): Promise<void>;
  /** After a failed attempt `attempts`: the next one at `at`, and the log updated. */
  reschedule(
    id: string,
    at: Date,
    result: { status?: number; error?: string; attempts: number; firstAttemptAt: Date },
  ): Promise<void>;
  /** Ends a delivery in the log and takes it off the schedule. */
  finish(
    id: string,
    state: Exclude<DeliveryState, 'pending'>,
    fields: { status?: number; error?: string; reason?: string; attempts?: number; firstAttemptAt?: Date },
    now: Date,
  ): Promise<void>;
  /** Ends every pending delivery of a subscription (disabled or deleted). */
  cancelPending(subscriptionId: string, reason: string, now: Date): Promise<number>;
  log(query: DeliveryLogQuery): Promise<StoredDelivery[]>;
  getForOwner(owner: string, subscriptionId: string, id: string): Promise<StoredDelivery | null>;
  attemptsOf(delivery: StoredDelivery): Promise<StoredAttempt[]>;
}

const attemptId = (deliveryId: string, n: number) => `${deliveryId}#${n}`;
/** Bounds the walk over attempt numbers in one claim (a stale count is behind by one or two). */
const MAX_CLAIM_STEPS = 20;

function toSchedule(delivery: NewDelivery): ScheduleDoc {
  const { state: _state, finishedAt: _f, lastStatus: _s, lastError: _e, reason: _r, ...schedule } = delivery;
  return schedule;
}

function toLog(delivery: NewDelivery): DeliveryDoc {
  const { body: _body, ...log } = delivery;
  return log;
}

export function createDeliveryRepository(connection: Connection): DeliveryRepository {
  const deliveries = deliveryModel(connection);
  const schedule = scheduleModel(connection);
  const attempts = attemptModel(connection);
  const logColl = () => connection.collection<DeliveryDoc>(deliveries.collection.collectionName);
  const scheduleColl = () => connection.collection<ScheduleDoc>(schedule.collection.collectionName);
  const attemptColl = () => connection.collection<AttemptDoc>(attempts.collection.collectionName);
  const outcomeColl = () => connection.collection<OutcomeDoc>('delivery_outcomes');

  /** Ordered bulk insert of the documents that do not exist yet (see {@link insertMissing}). */
  function insertNew<T extends { _id: string }>(
    coll: { insertMany(docs: T[], options: { ordered: true }): Promise<{ insertedCount: number }> },
    ids: (ids: string[]) => Promise<{ _id: string }[]>,
    docs: T[],
  ): Promise<number> {
    return insertMissing(docs, {
      insert: async (pending) => (await coll.insertMany(pending, { ordered: true })).insertedCount,
      existing: async (pending) => new Set((await ids(pending)).map((doc) => doc._id)),
    });
  }

  async function insertAttempt(doc: AttemptDoc): Promise<boolean> {
    try {
      await attemptColl().insertOne(doc);
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  return {
    async init() {
      await Promise.all([deliveries.init(), schedule.init(), attempts.init()]);
    },

    async enqueue(docs) {
      if (docs.length === 0) return 0;
      // In parallel: the schedule is written even when the log entry exists (a crash may have come
      // between the two), and a delivery that already ended is recognised by its outcome record
      // after its next claim, so neither order nor a partial failure can lose or repeat a delivery.
      // Each is one ordered bulk insert that skips the ids present (never continue-on-error, which
      // FerretDB does not honour: it stops at the first duplicate and would drop the rest).
      const unique = uniqueById(docs);
      const idsIn = (ids: string[]) => ({ _id: { $in: ids } });
      const [created] = await Promise.all([
        insertNew(
          logColl(),
          (ids) =>
            logColl()
              .find(idsIn(ids), { projection: { _id: 1 } })
              .toArray(),
          unique.map(toLog),
        ),
        insertNew(
          scheduleColl(),
          (ids) =>
            scheduleColl()
              .find(idsIn(ids), { projection: { _id: 1 } })
              .toArray(),
          unique.map(toSchedule),
        ),
      ]);
      return created;
    },

    snapshot: () =>
      scheduleColl()
        .find({}, { projection: { body: 0 } })
        .toArray() as Promise<ScheduleEntry[]>,

    scheduled: (id) => scheduleColl().findOne({ _id: id }),

    async claim(delivery, instance, now, leaseUntil) {
      for (let n = delivery.attempts + 1, step = 0; step < MAX_CLAIM_STEPS; n += 1, step += 1) {
        const attempt: AttemptDoc = {
          _id: attemptId(delivery._id, n),
          deliveryId: delivery._id,
          subscriptionId: delivery.subscriptionId,
          n,
          instance,
          startedAt: now,
          leaseUntil,
          outcome: 'in_flight',
        };
        if (await insertAttempt(attempt)) {
          const firstAttemptAt =
            n === 1
              ? now
              : ((await attemptColl().findOne({ _id: attemptId(delivery._id, 1) }))?.startedAt ?? now);
          await scheduleColl().updateOne(
            { _id: delivery._id },
            { $set: { attempts: n, nextAttemptAt: leaseUntil, firstAttemptAt } },
          );
          return { claimed: true, attempt, firstAttemptAt };
        }
        const holder = await attemptColl().findOne({ _id: attempt._id });
        if (holder === null) return { claimed: false };
        if (holder.outcome === 'delivered') {
          // Never claim past a delivered attempt; its owner is recording (or recorded) the end.
          const ended = await outcomeColl().findOne({ _id: delivery._id });
          return ended === null ? { claimed: false } : { claimed: false, ended };
        }
        if (holder.outcome === 'in_flight') {
          if (holder.leaseUntil > now) return { claimed: false };
          await attemptColl().updateOne(
            { _id: holder._id, outcome: 'in_flight' },
            {
              $set: {
                outcome: 'abandoned',
                finishedAt: now,
                error: 'lease expired (instance stopped mid-attempt)',
              },
            },
          );
        }
      }
      return { claimed: false };
    },

    async recordOutcome(outcome) {
      try {
        await outcomeColl().insertOne(outcome);
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    outcomeOf: (id) => outcomeColl().findOne({ _id: id }),

    async finishAttempt(attempt, outcome, result, now) {
      await attemptColl().updateOne(
        { _id: attempt._id },
        {
          $set: {
            outcome,
            finishedAt: now,
            durationMs: result.durationMs,
            ...(result.status === undefined ? {} : { status: result.status }),
            ...(result.error === undefined ? {} : { error: result.error }),
          },
        },
      );
    },

    async reschedule(id, at, result) {
      await Promise.all([
        scheduleColl().updateOne({ _id: id }, { $set: { nextAttemptAt: at } }),
        // Only while pending: a stale attempt (timed out, or past its lease) that reschedules after a
        // later attempt delivered must not overwrite the delivered entry's status.
        logColl().updateOne(
          { _id: id, state: 'pending' },
          {
            $set: {
              attempts: result.attempts,
              firstAttemptAt: result.firstAttemptAt,
              ...(result.status === undefined ? {} : { lastStatus: result.status }),
              ...(result.error === undefined ? {} : { lastError: result.error }),
            },
            ...(result.status === undefined ? { $unset: { lastStatus: '' } } : { $unset: { lastError: '' } }),
          },
        ),
      ]);
    },

    async finish(id, state, fields, now) {
      await Promise.all([
        logColl().updateOne(
          { _id: id },
          {
            $set: {
              state,
              finishedAt: now,
              ...(fields.status === undefined ? {} : { lastStatus: fields.status }),
              ...(fields.error === undefined ? {} : { lastError: fields.error }),
              ...(fields.reason === undefined ? {} : { reason: fields.reason }),
              ...(fields.attempts === undefined ? {} : { attempts: fields.attempts }),
              ...(fields.firstAttemptAt === undefined ? {} : { firstAttemptAt: fields.firstAttemptAt }),
            },
          },
        ),
        scheduleColl().deleteOne({ _id: id }),
      ]);
    },

    async cancelPending(subscriptionId, reason, now) {
      // One by one, each end recorded insert-only first: a concurrent update of a log entry (an
      // attempt still finishing) cannot put a cancelled delivery back to pending for good, because
      // the log view reads the outcome over the entry.
      const entries = await scheduleColl()
        .find({ subscriptionId }, { projection: { _id: 1 } })
        .toArray();
      for (const { _id } of entries) {
        await this.recordOutcome({ _id, subscriptionId, state: 'cancelled', at: now, reason });
        await this.finish(_id, 'cancelled', { reason }, now);
      }
      return entries.length;
    },

    async log({ owner, subscriptionId, state, eventId, leadId, before, limit }) {
      const items = await logColl()
        .find({
          owner,
          subscriptionId,
          ...(state === undefined ? {} : { state }),
          ...(eventId === undefined ? {} : { eventId }),
          ...(leadId === undefined ? {} : { leadId }),
          ...(before === undefined
            ? {}
            : {
                $or: [
                  { createdAt: { $lt: before.createdAt } },
                  { createdAt: before.createdAt, _id: { $lt: before.id } },
                ],
              }),
        })
        .sort({ createdAt: -1, _id: -1 })
        .limit(limit)
        .toArray();
      // The outcome record is the truth about an ended delivery; its log entry may lag behind it.
      return Promise.all(
        items.map(async (item) => {
          if (item.state !== 'pending') return item;
          const outcome = await outcomeColl().findOne({ _id: item._id });
          return outcome === null
            ? item
            : {
                ...item,
                state: outcome.state,
                ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
              };
        }),
      );
    },

    async getForOwner(owner, subscriptionId, id) {
      const delivery = await logColl().findOne({ _id: id });
      return delivery !== null && delivery.owner === owner && delivery.subscriptionId === subscriptionId
        ? delivery
        : null;
    },

    async attemptsOf(delivery) {
      // By `_id`, one per attempt number (two beyond the logged count, which may lag), so FerretDB never
      // scans the attempts collection.
      const found = await Promise.all(
        Array.from({ length: delivery.attempts + 2 }, (_, i) =>
          attemptColl().findOne({ _id: attemptId(delivery._id, i + 1) }),
        ),
      );
      return found.filter((a): a is AttemptDoc => a !== null);
    },
  };
}
