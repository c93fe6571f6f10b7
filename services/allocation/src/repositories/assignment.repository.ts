import type { Envelope } from '@leadflow/contracts/envelope';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection, UpdateQuery } from 'mongoose';
import { AssignmentMongoSchema, type AssignmentDoc, type AssignmentStatus } from './assignment.schema.js';

/** Conditions an update must meet; an unmet guard means another writer (or an earlier delivery) won. */
export interface TransitionGuard {
  status?: readonly AssignmentStatus[];
  revision?: number;
  /** The update applies only if this event id is not in `appliedEventIds` yet. */
  notApplied?: string;
}

export interface TransitionChange {
  set?: Partial<Omit<AssignmentDoc, '_id' | 'outbox' | 'appliedEventIds'>>;
  unset?: (keyof AssignmentDoc)[];
  /** Written to the outbox in the same update as the state they announce. */
  events?: readonly Envelope[];
  applied?: string;
  bumpRevision?: boolean;
}

export interface WorklistQuery {
  filter: TenantFilter<AssignmentDoc> & { dealerId: string };
  sort: 1 | -1;
  skip: number;
  limit: number;
}

export interface AssignmentRepository {
  /** Inserts a new attempt; `exists` when that attempt was already written (redelivery or a race). */
  insert(doc: AssignmentDoc): Promise<'inserted' | 'exists'>;
  findAttempt(oemId: string, leadId: string, attempt: number): Promise<AssignmentDoc | null>;
  /** The latest attempt of a lead inside a scope: the OEM, or one dealer of it. */
  findLatest(scope: { oemId: string; dealerId?: string }, leadId: string): Promise<AssignmentDoc | null>;
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
  worklist(query: WorklistQuery): Promise<AssignmentDoc[]>;
  count(filter: TenantFilter<AssignmentDoc>): Promise<number>;
  /** Offers past their accept deadline, across tenants (the sweep runs as the system). */
  dueOffers(now: Date, limit: number): Promise<AssignmentDoc[]>;
  /** Documents whose outbox has waited since before `before`, across tenants (the relay). */
  pendingOutboxes(before: Date, limit: number): Promise<AssignmentDoc[]>;
}

export const assignmentId = (leadId: string, attempt: number) => `${leadId}:${attempt}`;

export function createAssignmentRepository(connection: Connection): AssignmentRepository {
  const Assignments = connection.model<AssignmentDoc>('Assignment', AssignmentMongoSchema);

  return {
    async insert(doc) {
      try {
        await Assignments.create(doc);
        return 'inserted';
      } catch (error) {
        if (isDuplicateKeyError(error)) return 'exists';
        throw error;
      }
    },

    findAttempt: (oemId, leadId, attempt) =>
      Assignments.findOne({ _id: assignmentId(leadId, attempt), oemId }).lean<AssignmentDoc>(),

    findLatest: (scope, leadId) =>
      Assignments.findOne({ leadId, ...scope })
        .sort({ attempt: -1 })
        .lean<AssignmentDoc>(),

    findPreviousOfCustomer: (oemId, customerId, leadId) =>
      Assignments.findOne({
        oemId,
        'lead.customerId': customerId,
        leadId: { $ne: leadId },
        agentId: { $exists: true },
      })
        .sort({ allocatedAt: -1 })
        .lean<AssignmentDoc>(),

    async transition(oemId, id, guard, change, now) {
      const filter: Record<string, unknown> = { _id: id, oemId };
      if (guard.status !== undefined) filter.status = { $in: [...guard.status] };
      if (guard.revision !== undefined) filter.revision = guard.revision;
      if (guard.notApplied !== undefined) filter.appliedEventIds = { $ne: guard.notApplied };
      const events = (change.events ?? []).map((e) => JSON.stringify(e));
      const update: UpdateQuery<AssignmentDoc> = {
        $set: { ...change.set, updatedAt: now, ...(events.length > 0 ? { outboxSince: now } : {}) },
      };
      const push: Record<string, unknown> = {};
      if (events.length > 0) push.outbox = { $each: events };
      if (change.applied !== undefined) push.appliedEventIds = change.applied;
      if (Object.keys(push).length > 0) update.$push = push;
      if (change.bumpRevision === true) update.$inc = { revision: 1 };
      if (change.unset !== undefined && change.unset.length > 0) {
        update.$unset = Object.fromEntries(change.unset.map((field) => [field, 1]));
      }
      return Assignments.findOneAndUpdate(filter, update, { returnDocument: 'after' }).lean<AssignmentDoc>();
    },

    async clearOutbox(id, published) {
      if (published.length === 0) return;
      await Assignments.updateOne({ _id: id }, { $pullAll: { outbox: [...published] } });
      // A separate, conditional step: an event written meanwhile keeps its `outboxSince`.
      await Assignments.updateOne(
        { _id: id, 'outbox.0': { $exists: false } },
        { $unset: { outboxSince: 1 } },
      );
    },

    worklist: ({ filter, sort, skip, limit }) =>
      Assignments.find(filter)
        .sort({ assignedAt: sort, _id: sort })
        .skip(skip)
        .limit(limit)
        .lean<AssignmentDoc[]>(),

    count: (filter) => Assignments.countDocuments(filter),

    dueOffers: (now, limit) =>
      Assignments.find({ status: 'offered', acceptBy: { $lt: now } })
        .sort({ acceptBy: 1 })
        .limit(limit)
        .lean<AssignmentDoc[]>(),

    pendingOutboxes: (before, limit) =>
      Assignments.find({ outboxSince: { $lt: before } })
        .sort({ outboxSince: 1 })
        .limit(limit)
        .lean<AssignmentDoc[]>(),
  };
}
