import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import {
  attemptModel,
  deliveryModel,
  type AttemptDoc,
  type AttemptOutcome,
  type DeliveryDoc,
  type DeliveryState,
  type OutcomeDoc,
} from './delivery.schema.js';

export type StoredDelivery = DeliveryDoc;
export type StoredAttempt = AttemptDoc;

export type ClaimResult =
  | { claimed: true; attempt: StoredAttempt; firstAttemptAt: Date }
  /** Another instance holds attempt n (or finished it a moment ago): leave the delivery alone. */
  | { claimed: false };

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
  /** Inserts the deliveries that do not exist yet; returns how many were new. */
  enqueue(deliveries: DeliveryDoc[]): Promise<number>;
  due(now: Date, limit: number): Promise<StoredDelivery[]>;
  /** The pending delivery a lead's lane is waiting on: lowest (seq, createdAt). */
  laneHead(subscriptionId: string, leadId: string): Promise<StoredDelivery | null>;
  setNextAttemptAt(id: string, at: Date): Promise<void>;
  /**
   * Claims the next attempt by inserting it (numbered after the delivery's last attempt record, the
   * numbering's one source of truth). An attempt still in flight within its lease means another
   * instance is on it; one whose lease ran out belonged to an instance that died, and is marked
   * abandoned before the next one is claimed.
   */
  claim(delivery: StoredDelivery, instance: string, now: Date, leaseUntil: Date): Promise<ClaimResult>;
  /** Records how a delivery ended; false when it had ended already. */
  recordOutcome(outcome: OutcomeDoc): Promise<boolean>;
  outcomeOf(id: string): Promise<OutcomeDoc | null>;
  finishAttempt(
    attempt: StoredAttempt,
    outcome: Exclude<AttemptOutcome, 'in_flight'>,
    result: { status?: number; error?: string; durationMs: number },
    now: Date,
  ): Promise<void>;
  reschedule(id: string, at: Date, result: { status?: number; error?: string }): Promise<void>;
  finish(
    id: string,
    state: Exclude<DeliveryState, 'pending'>,
    fields: { status?: number; error?: string; reason?: string },
    now: Date,
  ): Promise<void>;
  /** Ends every pending delivery of a subscription (disabled or deleted). */
  cancelPending(subscriptionId: string, reason: string, now: Date): Promise<number>;
  log(query: DeliveryLogQuery): Promise<StoredDelivery[]>;
  getForOwner(owner: string, subscriptionId: string, id: string): Promise<StoredDelivery | null>;
  attemptsOf(deliveryId: string): Promise<StoredAttempt[]>;
}

const attemptId = (deliveryId: string, n: number) => `${deliveryId}#${n}`;

export function createDeliveryRepository(connection: Connection): DeliveryRepository {
  const deliveries = deliveryModel(connection);
  const attempts = attemptModel(connection);
  const deliveryColl = () => connection.collection<DeliveryDoc>(deliveries.collection.collectionName);
  const attemptColl = () => connection.collection<AttemptDoc>(attempts.collection.collectionName);
  const outcomeColl = () => connection.collection<OutcomeDoc>('delivery_outcomes');

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
      await Promise.all([deliveries.init(), attempts.init()]);
      // A subscription's ended deliveries (the log's detail view reads one by _id).
      await outcomeColl().createIndex({ subscriptionId: 1, at: -1 });
    },

    async enqueue(docs) {
      if (docs.length === 0) return 0;
      try {
        const result = await deliveryColl().insertMany(docs, { ordered: false });
        return result.insertedCount;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const inserted = (error as { insertedCount?: unknown }).insertedCount;
        return typeof inserted === 'number' ? inserted : 0;
      }
    },

    due: (now, limit) =>
      deliveryColl()
        .find({ state: 'pending', nextAttemptAt: { $lte: now } })
        .sort({ nextAttemptAt: 1 })
        .limit(limit)
        .toArray(),

    laneHead: (subscriptionId, leadId) =>
      deliveryColl().findOne(
        { subscriptionId, leadId, state: 'pending' },
        { sort: { seq: 1, createdAt: 1, _id: 1 } },
      ),

    async setNextAttemptAt(id, at) {
      await deliveryColl().updateOne({ _id: id, state: 'pending' }, { $set: { nextAttemptAt: at } });
    },

    async claim(delivery, instance, now, leaseUntil) {
      const last = await attemptColl().findOne({ deliveryId: delivery._id }, { sort: { n: -1 } });
      if (last !== null && last.outcome === 'in_flight') {
        if (last.leaseUntil > now) return { claimed: false };
        await attemptColl().updateOne(
          { _id: last._id, outcome: 'in_flight' },
          {
            $set: {
              outcome: 'abandoned',
              finishedAt: now,
              error: 'lease expired (instance stopped mid-attempt)',
            },
          },
        );
      }
      const n = (last?.n ?? 0) + 1;
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
      if (!(await insertAttempt(attempt))) return { claimed: false };
      const firstAttemptAt =
        n === 1
          ? now
          : ((await attemptColl().findOne({ _id: attemptId(delivery._id, 1) }))?.startedAt ?? now);
      await deliveryColl().updateOne(
        { _id: delivery._id },
        { $set: { attempts: n, nextAttemptAt: leaseUntil, firstAttemptAt } },
      );
      return { claimed: true, attempt, firstAttemptAt };
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
      await deliveryColl().updateOne(
        { _id: id, state: 'pending' },
        {
          $set: {
            nextAttemptAt: at,
            ...(result.status === undefined ? {} : { lastStatus: result.status }),
            ...(result.error === undefined ? {} : { lastError: result.error }),
          },
          ...(result.status === undefined ? { $unset: { lastStatus: '' } } : {}),
        },
      );
    },

    async finish(id, state, fields, now) {
      await deliveryColl().updateOne(
        { _id: id, state: 'pending' },
        {
          $set: {
            state,
            finishedAt: now,
            ...(fields.status === undefined ? {} : { lastStatus: fields.status }),
            ...(fields.error === undefined ? {} : { lastError: fields.error }),
            ...(fields.reason === undefined ? {} : { reason: fields.reason }),
          },
        },
      );
    },

    async cancelPending(subscriptionId, reason, now) {
      const result = await deliveryColl().updateMany(
        { subscriptionId, state: 'pending' },
        { $set: { state: 'cancelled', reason, finishedAt: now } },
      );
      return result.modifiedCount;
    },

    log({ owner, subscriptionId, state, eventId, leadId, before, limit }) {
      return deliveryColl()
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
    },

    getForOwner: (owner, subscriptionId, id) => deliveryColl().findOne({ _id: id, owner, subscriptionId }),

    attemptsOf: (deliveryId) => attemptColl().find({ deliveryId }).sort({ n: 1 }).toArray(),
  };
}
