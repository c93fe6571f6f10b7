import type { Envelope } from '@leadflow/contracts/envelope';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { DealerFilter } from '@leadflow/platform/mongo';
import type { Connection, UpdateQuery } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { insertInOrder } from './bulk.js';
import {
  AssignmentMongoSchema,
  WriteClaimMongoSchema,
  CurrentStatuses,
  type AssignmentDoc,
  type AssignmentStatus,
  type WorkStatus,
  type WriteClaimDoc,
} from './assignment.schema.js';

/** A claim older than this whose write never happened (its writer crashed) may be taken over. */
export const STALE_CLAIM_MS = 30_000;

/**
 * What a dealer-side caller may touch: always one dealer of one OEM, and one agent when the caller is
 * an agent or consultant. Every method serving a dealer endpoint takes this (or a `DealerFilter`), so a
 * query without the dealer cannot be written; the agent, when present, is part of the query too, so a
 * colleague's lead is simply not found.
 */
export interface DealerScope {
  oemId: string;
  dealerId: string;
  agentId?: string;
}

/** The query fields of a scope: spread last, so a caller's filter can narrow it but never widen it. */
export const scopeQuery = (scope: DealerScope) => ({
  oemId: scope.oemId,
  dealerId: scope.dealerId,
  ...(scope.agentId === undefined ? {} : { agentId: scope.agentId }),
});

/** One agent's current leads per work-list group, for the manager's team view. */
export interface TeamCount {
  agentId: string | null;
  workStatus: WorkStatus;
  count: number;
}

/** Conditions an update must meet; an unmet guard means another writer (or an earlier delivery) won. */
export interface TransitionGuard {
  status?: readonly AssignmentStatus[];
  revision?: number;
  /** The update applies only if this event id is not in `appliedEventIds` yet. */
  notApplied?: string;
  /** The lead has no agent (it is in the pool): a grab must not take a lead someone else just took. */
  unassigned?: boolean;
}

export interface TransitionChange {
  set?: Partial<Omit<AssignmentDoc, '_id' | 'outbox' | 'appliedEventIds'>>;
  unset?: (keyof AssignmentDoc)[];
  /** Written to the outbox in the same update as the state they announce. */
  events?: readonly Envelope[];
  /**
   * The writer's intent, for the write claim: the same op retried (a redelivery, a repeated request)
   * may reuse its claim. Defaults to `guard.notApplied`, else a fresh id.
   */
  op?: string;
  /** Values appended to array fields (markers, excluded agents). */
  push?: Partial<Record<'lead.markers' | 'poolExcludedAgentIds', string>>;
  applied?: string;
  bumpRevision?: boolean;
}

export interface WorklistQuery {
  filter: DealerFilter<AssignmentDoc>;
  /** `assignedAt` (who got it when) or `lead.receivedAt` (the file's creation time). */
  sortBy: 'assignedAt' | 'lead.receivedAt';
  sort: 1 | -1;
  skip: number;
  limit: number;
}

export interface AssignmentRepository {
  /** Inserts a new attempt; `exists` when that attempt was already written (redelivery or a race). */
  insert(doc: AssignmentDoc): Promise<'inserted' | 'exists'>;
  findAttempt(oemId: string, leadId: string, attempt: number): Promise<AssignmentDoc | null>;
  /**
   * Inserts new attempts in one write (a consumer batch); returns the ids that were already written
   * (redelivery or a race), which were left as the other writer stored them.
   */
  insertMany(docs: readonly AssignmentDoc[]): Promise<Set<string>>;
  /** The attempts of the OEM among `ids` (assignment ids), one `_id $in` look-up. */
  findAttempts(oemId: string, ids: readonly string[]): Promise<AssignmentDoc[]>;
  /**
   * Every assignment with an agent of these customers (continuity for a batch: the caller picks the
   * latest other lead's, as `findPreviousOfCustomer` does for one).
   */
  findWithAgentOfCustomers(
    oemId: string,
    customerIds: readonly string[],
  ): Promise<Pick<AssignmentDoc, '_id' | 'leadId' | 'dealerId' | 'agentId' | 'allocatedAt' | 'lead'>[]>;
  /** The latest attempt of a lead in the OEM: consumers, the sweep and OEM roles. */
  findLatest(oemId: string, leadId: string): Promise<AssignmentDoc | null>;
  /** The dealer's (or the agent's) own latest attempt of a lead: every dealer endpoint. */
  findLatestForDealer(scope: DealerScope, leadId: string): Promise<AssignmentDoc | null>;
  /** The dealer's current leads of some customers (transfers by customer, collisions). */
  findCurrentOfCustomers(scope: DealerScope, customerIds: readonly string[]): Promise<AssignmentDoc[]>;
  /** Current leads per agent and work-list group inside a dealer. */
  teamCounts(scope: DealerScope): Promise<TeamCount[]>;
  /** The most recent assignment with an agent of another lead of the same customer (continuity). */
  findPreviousOfCustomer(oemId: string, customerId: string, leadId: string): Promise<AssignmentDoc | null>;
  /** Applies `change` if `guard` holds; returns the updated document, or null when the guard failed. */
  transition(
    oemId: string,
    id: string,
    guard: TransitionGuard,
    change: TransitionChange,
    now: Date,
  ): Promise<AssignmentDoc | null>;
  /** Removes published events from the outbox. */
  clearOutbox(id: string, published: readonly string[]): Promise<void>;
  /** The same for many documents in one write. */
  clearOutboxes(entries: readonly { id: string; published: readonly string[] }[]): Promise<void>;
  /**
   * Empties the outbox of attempts this writer has just inserted and published, in one statement,
   * if nothing wrote to them since (no `seq` yet: every transition sets it, with its own events);
   * any that did are cleared entry by entry as `clearOutboxes` does.
   */
  clearInsertedOutboxes(docs: readonly Pick<AssignmentDoc, '_id' | 'outbox'>[]): Promise<void>;
  worklist(query: WorklistQuery): Promise<AssignmentDoc[]>;
  count(filter: DealerFilter<AssignmentDoc>): Promise<number>;
  /** Offers past their accept deadline, across tenants (the sweep runs as the system). */
  dueOffers(now: Date, limit: number): Promise<AssignmentDoc[]>;
  /** Documents whose outbox has waited since before `before`, across tenants (the relay). */
  pendingOutboxes(before: Date, limit: number): Promise<AssignmentDoc[]>;
  /** Current leads whose return-to-pool time passed, across tenants (the pool sweep). */
  dueForPool(now: Date, limit: number): Promise<AssignmentDoc[]>;
}

export const assignmentId = (leadId: string, attempt: number) => `${leadId}:${attempt}`;

export function createAssignmentRepository(connection: Connection): AssignmentRepository {
  const Assignments = connection.model<AssignmentDoc>('Assignment', AssignmentMongoSchema);
  const Claims = connection.model<WriteClaimDoc>('AssignmentWriteClaim', WriteClaimMongoSchema);

  /** True when this op holds the claim on `key` (now, or from an earlier try of the same op). */
  async function claim(key: string, op: string, now: Date): Promise<boolean> {
    for (let tries = 0; tries < 2; tries += 1) {
      try {
        await Claims.create({ _id: key, op, at: now });
        return true;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const holder = await Claims.findById(key).lean<WriteClaimDoc>();
      if (holder === null) continue;
      if (holder.op === op) return true;
      // The holder claimed this state and never wrote (the caller saw the state unchanged): it crashed.
      if (now.getTime() - new Date(holder.at).getTime() < STALE_CLAIM_MS) return false;
      await Claims.deleteOne({ _id: key, op: holder.op });
    }
    return false;
  }

  /** `$pullAll` of the published entries, then, in order, `outboxSince` unset if nothing is left. */
  async function clearOutboxes(entries: readonly { id: string; published: readonly string[] }[]) {
    const ops = entries
      .filter((e) => e.published.length > 0)
      .flatMap((e) => [
        { updateOne: { filter: { _id: e.id }, update: { $pullAll: { outbox: [...e.published] } } } },
        // A separate, conditional step (a conditional `$pull` is a silent no-op on FerretDB): an event
        // written meanwhile keeps its `outboxSince`. One ordered write for both, and for many documents.
        {
          updateOne: {
            filter: { _id: e.id, 'outbox.0': { $exists: false } },
            update: { $unset: { outboxSince: 1 } },
          },
        },
      ]);
    if (ops.length === 0) return;
    await Assignments.bulkWrite(ops, { ordered: true });
  }

  return {
    async insert(doc) {
      try {
        await Assignments.create({ ...doc, customerId: doc.lead.customerId });
        return 'inserted';
      } catch (error) {
        if (isDuplicateKeyError(error)) return 'exists';
        throw error;
      }
    },

    insertMany: (docs) =>
      insertInOrder(
        Assignments,
        docs.map((doc) => ({ ...doc, customerId: doc.lead.customerId })),
      ),

    findAttempts: (oemId, ids) =>
      ids.length === 0
        ? Promise.resolve([])
        : Assignments.find({ _id: { $in: [...ids] }, oemId }).lean<AssignmentDoc[]>(),

    findWithAgentOfCustomers: (oemId, customerIds) =>
      customerIds.length === 0
        ? Promise.resolve([])
        : Assignments.find(
            { customerId: { $in: [...customerIds] }, oemId, agentId: { $exists: true } },
            { leadId: 1, dealerId: 1, agentId: 1, allocatedAt: 1, 'lead.customerId': 1 },
          )
            .sort({ allocatedAt: -1 })
            .lean<
              Pick<AssignmentDoc, '_id' | 'leadId' | 'dealerId' | 'agentId' | 'allocatedAt' | 'lead'>[]
            >(),

    findAttempt: (oemId, leadId, attempt) =>
      Assignments.findOne({ _id: assignmentId(leadId, attempt), oemId }).lean<AssignmentDoc>(),

    findLatest: (oemId, leadId) =>
      Assignments.findOne({ leadId, oemId }).sort({ attempt: -1 }).lean<AssignmentDoc>(),

    findLatestForDealer: (scope, leadId) =>
      Assignments.findOne({ leadId, ...scopeQuery(scope) })
        .sort({ attempt: -1 })
        .lean<AssignmentDoc>(),

    findCurrentOfCustomers: (scope, customerIds) =>
      Assignments.find({
        customerId: { $in: [...customerIds] },
        status: { $in: [...CurrentStatuses] },
        ...scopeQuery(scope),
      })
        .sort({ 'lead.receivedAt': 1, _id: 1 })
        .limit(1000)
        .lean<AssignmentDoc[]>(),

    async teamCounts(scope) {
      // `$group` with `$sum` is the aggregation FerretDB supports; the rest is done here.
      const rows = await Assignments.aggregate<{
        _id: { agentId?: string; workStatus: WorkStatus };
        count: number;
      }>([
        { $match: { status: { $in: [...CurrentStatuses] }, ...scopeQuery(scope) } },
        { $group: { _id: { agentId: '$agentId', workStatus: '$workStatus' }, count: { $sum: 1 } } },
      ]);
      return rows.map((r) => ({
        agentId: r._id.agentId ?? null,
        workStatus: r._id.workStatus,
        count: r.count,
      }));
    },

    findPreviousOfCustomer: (oemId, customerId, leadId) =>
      Assignments.findOne({
        oemId,
        customerId,
        leadId: { $ne: leadId },
        agentId: { $exists: true },
      })
        .sort({ allocatedAt: -1 })
        .lean<AssignmentDoc>(),

    async transition(oemId, id, guard, change, now) {
      // Serialise writers first (see WriteClaimDoc), then apply the guarded update.
      const current = await Assignments.findOne({ _id: id, oemId }, { seq: 1 }).lean<
        Pick<AssignmentDoc, 'seq'>
      >();
      if (current === null) return null;
      const seq = current.seq ?? 0;
      const op = change.op ?? guard.notApplied ?? randomUUID();
      if (!(await claim(`${id}#${seq}`, op, now))) return null;
      const filter: Record<string, unknown> = {
        _id: id,
        oemId,
        seq: current.seq === undefined ? { $exists: false } : seq,
      };
      if (guard.status !== undefined) filter.status = { $in: [...guard.status] };
      if (guard.revision !== undefined) filter.revision = guard.revision;
      if (guard.notApplied !== undefined) filter.appliedEventIds = { $ne: guard.notApplied };
      if (guard.unassigned === true) filter.agentId = { $exists: false };
      const events = (change.events ?? []).map((e) => JSON.stringify(e));
      const update: UpdateQuery<AssignmentDoc> = {
        $set: { ...change.set, updatedAt: now, ...(events.length > 0 ? { outboxSince: now } : {}) },
      };
      const push: Record<string, unknown> = { ...change.push };
      if (events.length > 0) push.outbox = { $each: events };
      if (change.applied !== undefined) push.appliedEventIds = change.applied;
      if (Object.keys(push).length > 0) update.$push = push;
      update.$inc = { seq: 1, ...(change.bumpRevision === true ? { revision: 1 } : {}) };
      if (change.unset !== undefined && change.unset.length > 0) {
        update.$unset = Object.fromEntries(change.unset.map((field) => [field, 1]));
      }
      const updated = await Assignments.findOneAndUpdate(filter, update, {
        returnDocument: 'after',
      }).lean<AssignmentDoc>();
      // The guard failed: nothing was written, so the state is free for the next writer.
      if (updated === null) await Claims.deleteOne({ _id: `${id}#${seq}`, op });
      return updated;
    },

    clearOutbox: (id, published) => clearOutboxes([{ id, published }]),

    clearOutboxes,

    async clearInsertedOutboxes(docs) {
      const pending = docs.filter((d) => d.outbox.length > 0);
      if (pending.length === 0) return;
      const result = await Assignments.updateMany(
        { _id: { $in: pending.map((d) => d._id) }, seq: { $exists: false } },
        { $set: { outbox: [] }, $unset: { outboxSince: 1 } },
      );
      if (result.matchedCount === pending.length) return;
      // Some were written meanwhile (their own events joined the outbox): remove only ours. Repeating
      // it on those already cleared is a no-op.
      await clearOutboxes(pending.map((d) => ({ id: d._id, published: d.outbox })));
    },

    worklist: ({ filter, sortBy, sort, skip, limit }) =>
      Assignments.find(filter)
        .sort({ [sortBy]: sort, _id: sort })
        .skip(skip)
        .limit(limit)
        .lean<AssignmentDoc[]>(),

    count: (filter) => Assignments.countDocuments(filter),

    dueOffers: (now, limit) =>
      Assignments.find({ status: 'offered', acceptBy: { $lt: now } })
        .sort({ acceptBy: 1 })
        .limit(limit)
        .lean<AssignmentDoc[]>(),

    dueForPool: (now, limit) =>
      Assignments.find({ returnToPoolAt: { $lt: now }, status: { $in: [...CurrentStatuses] } })
        .sort({ returnToPoolAt: 1 })
        .limit(limit)
        .lean<AssignmentDoc[]>(),

    pendingOutboxes: (before, limit) =>
      Assignments.find({ outboxSince: { $lt: before } })
        .sort({ outboxSince: 1 })
        .limit(limit)
        .lean<AssignmentDoc[]>(),
  };
}
