import type { Counters } from './counters.js';
import {
  bucketOf,
  countersFor,
  countingReadiness,
  type BucketKey,
  type CountableEvent,
  type LeadAttribution,
} from './lead-counting.js';
import { applySnapshotUpdate, type FlatSnapshot, type SnapshotUpdate } from './lead-snapshot.js';

/**
 * The in-memory half of the batched projection: a batch reads its leads once, folds its events into
 * each snapshot here (the same operators as a MongoDB update, via `applySnapshotUpdate`), decides
 * which pending events have become countable, settles the counted ones, and writes each lead once.
 * Everything here is pure; the repositories do the I/O.
 */

/** What counting needs of an event, as kept in a lead's `pending` map until the event is counted. */
export interface PendingEvent {
  id: string;
  type: string;
  at: Date;
  data: Record<string, unknown>;
}

/** The snapshot fields this module reads or writes (the stored lead document, see lead.schema.ts). */
export interface SnapshotDoc {
  _id: string;
  oemId: string;
  channel?: { l1?: string; l2?: string; l3?: string };
  series?: string;
  model?: string;
  initialGrade?: string;
  milestones?: Record<string, Date | undefined>;
  /** Uncounted events by {@link pendingKey}: JSON text (or an object, as older projections wrote). */
  pending?: Record<string, PendingEvent | string>;
  [field: string]: unknown;
}

/** A document key for an event id: ids contain `.` and `:`, which a MongoDB path cannot. */
export const pendingKey = (eventId: string) => Buffer.from(eventId).toString('base64url');

/**
 * A pending entry as stored: JSON text (one field, where an object would be a dozen: FerretDB's cost
 * follows the number of fields of the lead document).
 */
export const storedPending = (event: PendingEvent): string => JSON.stringify(event);

export function pendingEventOf(stored: PendingEvent | string): PendingEvent {
  if (typeof stored !== 'string') return stored;
  const parsed = JSON.parse(stored) as Omit<PendingEvent, 'at'> & { at: string };
  return { ...parsed, at: new Date(parsed.at) };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !(value instanceof Date) &&
  !Array.isArray(value) &&
  Object.getPrototypeOf(value) === Object.prototype;

/**
 * A document as dotted paths (`milestones.receivedAt`), the shape `applySnapshotUpdate` works on.
 * Dates, arrays and `null` are leaves; `pending` is left out (the caller keeps it apart).
 */
export function flattenSnapshot(doc: Record<string, unknown>): FlatSnapshot {
  const flat: FlatSnapshot = {};
  const walk = (value: Record<string, unknown>, prefix: string) => {
    for (const [key, child] of Object.entries(value)) {
      if (prefix === '' && key === 'pending') continue;
      if (child === undefined) continue;
      if (isPlainObject(child)) walk(child, `${prefix}${key}.`);
      else flat[`${prefix}${key}`] = child;
    }
  };
  walk(doc, '');
  return flat;
}

/** The inverse of {@link flattenSnapshot}. */
export function unflattenSnapshot(flat: FlatSnapshot): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flat)) {
    const parts = path.split('.');
    let target = doc;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      if (isPlainObject(next)) target = next;
      else {
        const created: Record<string, unknown> = {};
        target[part] = created;
        target = created;
      }
    }
    target[parts[parts.length - 1] as string] = value;
  }
  return doc;
}

/** One update a batch holds for a lead; `pending` = the event is the lead's own (to be counted). */
export interface LeadChange {
  update: SnapshotUpdate;
  pending?: PendingEvent;
}

/**
 * The lead after a batch's changes, from its stored snapshot (undefined for a new lead). Order-free
 * (the operators commute) and idempotent (applying a change twice changes nothing), so a batch that
 * lost a race for a lead simply folds its changes again into the newer snapshot.
 */
export function foldLead(
  current: SnapshotDoc | undefined,
  leadId: string,
  oemId: string,
  changes: readonly LeadChange[],
): SnapshotDoc {
  let flat: FlatSnapshot = current === undefined ? { _id: leadId, oemId } : flattenSnapshot(current);
  const pending: Record<string, PendingEvent | string> = { ...(current?.pending ?? {}) };
  for (const { update, pending: event } of changes) {
    flat = applySnapshotUpdate(flat, update);
    if (event !== undefined) pending[pendingKey(event.id)] = storedPending(event);
  }
  const doc = unflattenSnapshot(flat) as SnapshotDoc;
  if (Object.keys(pending).length > 0) doc.pending = pending;
  return doc;
}

/** The lead with these events removed from its pending map. */
export function settled(doc: SnapshotDoc, eventIds: Iterable<string>): SnapshotDoc {
  if (doc.pending === undefined) return doc;
  const pending = { ...doc.pending };
  for (const id of eventIds) delete pending[pendingKey(id)];
  const { pending: _old, ...rest } = doc;
  return Object.keys(pending).length > 0 ? { ...rest, pending } : rest;
}

/** The immutable attributes counting buckets an event of this lead by. */
export function attributionOf(lead: SnapshotDoc): LeadAttribution {
  const model = lead.series ?? lead.model;
  const receivedAt = lead.milestones?.receivedAt;
  const assignedAt = lead.milestones?.assignedAt;
  const channel = lead.channel;
  return {
    ...(channel?.l1 === undefined ? {} : { channel: channel as LeadAttribution['channel'] & object }),
    ...(model === undefined ? {} : { model }),
    ...(receivedAt === undefined ? {} : { receivedAt }),
    ...(lead.initialGrade === undefined ? {} : { initialGrade: lead.initialGrade }),
    ...(assignedAt === undefined ? {} : { assignedAt }),
  };
}

/** A pending event the lead now knows enough to count, with its bucket and increments. */
export interface CountableItem {
  id: string;
  oemId: string;
  leadId: string;
  /** Absent when the event counts nothing (it is still claimed and settled). */
  key?: BucketKey;
  counters: Counters;
}

/** Every pending event of the lead that is countable now (see `countingReadiness`). */
export function countableOf(lead: SnapshotDoc, timeZone: string): CountableItem[] {
  const attribution = attributionOf(lead);
  const out: CountableItem[] = [];
  for (const entry of Object.values(lead.pending ?? {})) {
    const stored = pendingEventOf(entry);
    const event = {
      id: stored.id,
      oemId: lead.oemId,
      type: stored.type,
      data: stored.data,
      at: new Date(stored.at),
    } as CountableEvent;
    if (!countingReadiness(event, attribution).ready) continue;
    const counters = countersFor(event, attribution);
    out.push({
      id: stored.id,
      oemId: lead.oemId,
      leadId: lead._id,
      counters,
      ...(Object.keys(counters).length === 0 ? {} : { key: bucketOf(event, attribution, timeZone) }),
    });
  }
  return out;
}

/** A lead's stored snapshot with its version (absent for a snapshot of the per-event projection). */
export type StoredSnapshot = SnapshotDoc & { v?: number };

/** A lead to write over the version it was read at (`expected` undefined = a new lead). */
export interface LeadWrite {
  doc: SnapshotDoc;
  expected: number | undefined;
}

/** Which events a batch has claimed itself, and which it found claimed already. */
export interface ClaimState {
  here: Set<string>;
  elsewhere: Set<string>;
}

/**
 * One round of a batch over the leads still to write: each lead folded from what was read, and the
 * pending events that became countable and are not decided yet (to claim). `foreign` names a lead
 * stored under another tenant (the event is at fault).
 */
export function foldRound(
  todo: readonly string[],
  current: ReadonlyMap<string, StoredSnapshot>,
  changes: ReadonlyMap<string, { oemId: string; items: readonly LeadChange[] }>,
  claims: ClaimState,
  timeZone: string,
): { next: LeadWrite[]; countable: CountableItem[]; foreign?: string } {
  const next: LeadWrite[] = [];
  const countable: CountableItem[] = [];
  for (const leadId of todo) {
    const change = changes.get(leadId);
    if (change === undefined) continue;
    const stored = current.get(leadId);
    if (stored !== undefined && stored.oemId !== change.oemId) return { next, countable, foreign: leadId };
    const doc = foldLead(stored, leadId, change.oemId, change.items);
    next.push({ doc, expected: stored === undefined ? undefined : (stored.v ?? 0) });
    for (const item of countableOf(doc, timeZone))
      if (!claims.here.has(item.id) && !claims.elsewhere.has(item.id)) countable.push(item);
  }
  return { next, countable };
}

/**
 * The round's leads with their settled events dropped from `pending`: those this batch claimed, and
 * its own events claimed before (a redelivery). An event another batch claimed stays pending for
 * that batch, which settles it (or releases its claim and counts it again if its write fails).
 */
export function settleRound(
  next: readonly LeadWrite[],
  claims: ClaimState,
  own: ReadonlySet<string>,
): LeadWrite[] {
  return next.map(({ doc, expected }) => {
    const done = Object.values(doc.pending ?? {})
      .map((entry) => pendingEventOf(entry).id)
      .filter((id) => claims.here.has(id) || (claims.elsewhere.has(id) && own.has(id)));
    return { doc: settled(doc, done), expected };
  });
}
