import type { Envelope } from '@leadflow/contracts/envelope';
import { parseEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import {
  createConsumer,
  NonRetriableError,
  type BatchContext,
  type EnvelopeParser,
  type EventConsumer,
  type ProcessedEvents,
} from '@leadflow/platform/kafka';
import type { Kafka } from 'kafkajs';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import { addCounters, type Counters } from '../domain/counters.js';
import {
  bucketId,
  bucketOf,
  countersFor,
  countingReadiness,
  type BucketKey,
  type CountableEvent,
  type LeadAttribution,
} from '../domain/lead-counting.js';
import { businessTimeOf, ownerOf, stageOf, summarise, type SummarisedEvent } from '../domain/lead-events.js';
import { snapshotUpdatesFor, type SnapshotUpdate } from '../domain/lead-snapshot.js';
import type { ClaimRepository } from '../repositories/claim.repository.js';
import type { CounterRepository } from '../repositories/counter.repository.js';
import type { EventDoc } from '../repositories/event.schema.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { JournalRepository } from '../repositories/journal.repository.js';
import type { LeadRepository, LeadSnapshot } from '../repositories/lead.repository.js';
import { pendingEventOf, type PendingEvent } from '../repositories/lead.schema.js';

export interface ProjectionDeps {
  events: EventRepository;
  leads: LeadRepository;
  counters: CounterRepository;
  claims: ClaimRepository;
  /** Makes counting survive a crash between the claim and the counter write (journal.repository.ts). */
  journal?: JournalRepository;
  timeZone: string;
}

/** The contracts' full check (header and payload per type), in the shape the platform consumer takes. */
export const parseLeadEvent: EnvelopeParser = (raw) => {
  const result = parseEnvelope(raw);
  return result.ok ? { ok: true, envelope: result.envelope } : result;
};

function attributionOf(lead: LeadSnapshot): LeadAttribution {
  const model = lead.series ?? lead.model;
  const receivedAt = lead.milestones?.receivedAt;
  const assignedAt = lead.milestones?.assignedAt;
  return {
    ...(lead.channel === undefined || lead.channel.l1 === undefined ? {} : { channel: lead.channel }),
    ...(model === undefined ? {} : { model }),
    ...(receivedAt === undefined ? {} : { receivedAt }),
    ...(lead.initialGrade === undefined ? {} : { initialGrade: lead.initialGrade }),
    ...(assignedAt === undefined ? {} : { assignedAt }),
  };
}

const countable_ = (oemId: string, event: PendingEvent): CountableEvent =>
  ({ id: event.id, oemId, type: event.type, data: event.data, at: new Date(event.at) }) as CountableEvent;

interface PreparedEvent {
  event: AnyEnvelope;
  doc: EventDoc;
  summary: PendingEvent;
}

/** The timeline entry of an event; undefined for a type the read models do not project. */
function prepare(event: AnyEnvelope): PreparedEvent | undefined {
  const stage = stageOf(event.type);
  if (stage === undefined) return undefined;
  const occurredAt = new Date(event.occurredAt);
  if (Number.isNaN(occurredAt.getTime()))
    throw new NonRetriableError(`occurredAt is not a date: ${event.occurredAt}`);
  const data = summarise(event.data) as Record<string, unknown>;
  const at = businessTimeOf(event);
  const owner = ownerOf({ type: event.type, data } as SummarisedEvent);
  return {
    event,
    doc: {
      _id: event.id,
      oemId: event.oemId,
      leadId: event.data.leadId,
      ...(event.type === 'lead.duplicated' ? { openLeadId: event.data.openLeadId } : {}),
      type: event.type,
      stage,
      occurredAt,
      at,
      ...owner,
      correlationId: event.correlationId,
      data,
      counted: false,
    },
    summary: { id: event.id, type: event.type, at, data },
  };
}

/**
 * Projects a batch of events into the read models in a handful of bulk writes:
 *
 * 1. the timeline: one unordered `insertMany` (a duplicate key is a redelivery);
 * 2. the snapshots: one bulk write of the order-free upserts (each also records the event as pending
 *    counting), one of the latest-wins conditionals, then one `$in` read of the leads touched;
 * 3. the counters: every pending event of those leads that has become countable is claimed with one
 *    unordered `insertMany` of its id into `counted_events` (a duplicate key = counted already, by a
 *    redelivery or by a concurrent batch of another partition); the increments of the claimed events
 *    are summed per bucket in memory and written with one bulk `$inc` upsert per bucket and per
 *    roll-up document; then the events are settled (removed from `pending`, one bulk write).
 *
 * Why nothing is lost or counted twice across topics and partitions: each write is atomic per
 * document, every snapshot operator commutes, and the leads are read after this batch's updates, so of
 * two batches holding events of one lead the later reader sees both events pending (the claim then
 * lets one of them count each). A failed increment releases the claims before the error propagates,
 * so the consumer's retry (or its per-event fallback) counts them. A process killed between the claim
 * and the increment would under-count those events (their claims stay, their counts never land); see
 * the README.
 */
export function createLeadEventsBatchHandler(deps: ProjectionDeps) {
  return async function handleBatch(
    envelopes: readonly Envelope[],
    ctx: Pick<BatchContext, 'logger'>,
  ): Promise<void> {
    const prepared: PreparedEvent[] = [];
    const seen = new Set<string>();
    for (const envelope of envelopes) {
      if (seen.has(envelope.id)) continue;
      seen.add(envelope.id);
      const item = prepare(envelope as AnyEnvelope);
      // Commands between services are not lead history; a misrouted one is skipped, not dead-lettered.
      if (item === undefined)
        ctx.logger.debug({ eventType: envelope.type }, 'event type not projected; skipped');
      else prepared.push(item);
    }
    if (prepared.length === 0) return;

    await deps.events.insertMany(prepared.map((p) => p.doc));

    const updates: { update: SnapshotUpdate; pending?: PendingEvent }[] = [];
    const subjects = new Map<string, string>(); // leadId → oemId of the leads whose pending set changed
    for (const { event, summary } of prepared) {
      for (const update of snapshotUpdatesFor(event)) {
        const own = update.leadId === event.data.leadId;
        // Re-recorded as pending on a redelivery too: if it was counted already, its claim exists and
        // the event is settled again.
        updates.push(own ? { update, pending: summary } : { update });
        if (own) subjects.set(update.leadId, update.oemId);
      }
    }
    const snapshots = await deps.leads.applyMany(updates);

    // Every countable pending event of the touched leads, with its bucket and increments.
    const countable: { id: string; oemId: string; leadId: string; key?: BucketKey; counters: Counters }[] =
      [];
    for (const [leadId, oemId] of subjects) {
      const lead = snapshots.get(leadId);
      if (lead === undefined) continue;
      const attribution = attributionOf(lead);
      for (const entry of Object.values(lead.pending ?? {})) {
        const stored = pendingEventOf(entry);
        const event = countable_(oemId, stored);
        if (!countingReadiness(event, attribution).ready) continue;
        const counters = countersFor(event, attribution);
        countable.push({
          id: stored.id,
          oemId,
          leadId,
          counters,
          ...(Object.keys(counters).length === 0 ? {} : { key: bucketOf(event, attribution, deps.timeZone) }),
        });
      }
    }
    if (countable.length === 0) return;

    // The journal first, then the claims that name it: a crash after the claims leaves a journal from
    // which a live process counts the claimed events (recoverCounting).
    const journalled = countable.flatMap((item) =>
      item.key === undefined ? [] : [{ id: item.id, key: item.key, counters: item.counters }],
    );
    const batchJournal =
      deps.journal === undefined || journalled.length === 0
        ? undefined
        : await deps.journal.openBatch(journalled);
    const claimed = await deps.claims.claim(countable, batchJournal);
    const buckets = bucketsOf(journalled.filter((item) => claimed.has(item.id)));
    try {
      if (buckets.size > 0) await deps.counters.applyBatch(buckets.values(), batchJournal);
      else if (batchJournal !== undefined) await deps.journal?.closeBatches([batchJournal]);
    } catch (error) {
      // Nothing of this batch was written (a started write completes on its own): give the claims back.
      try {
        await deps.claims.release([...claimed]);
        if (batchJournal !== undefined) await deps.journal?.closeBatches([batchJournal]);
      } catch (releaseError) {
        // The journal stays: the claims are counted from it once it is old enough to be recovered.
        ctx.logger.error({ err: releaseError }, 'could not release claims after a failed increment');
      }
      throw error;
    }
    // Only after the increments landed: a failure before this leaves the events pending, and their
    // claims make the next attempt settle them without counting again.
    // Settled: the events this batch counted, and its own events claimed before (a redelivery). An
    // event another batch claimed is left to that batch, which settles it after its increment (or,
    // if the increment fails, releases the claim and counts it on its retry).
    const own = new Set(prepared.map((p) => p.event.id));
    const byLead = new Map<string, { oemId: string; leadId: string; eventIds: string[] }>();
    for (const item of countable) {
      if (!claimed.has(item.id) && !own.has(item.id)) continue;
      const entry = byLead.get(item.leadId) ?? { oemId: item.oemId, leadId: item.leadId, eventIds: [] };
      entry.eventIds.push(item.id);
      byLead.set(item.leadId, entry);
    }
    await deps.leads.settleMany([...byLead.values()]);
  };
}

/** Increments summed per daily bucket. */
function bucketsOf(
  items: readonly { key: BucketKey; counters: Counters }[],
): Map<string, { key: BucketKey; counters: Counters }> {
  const buckets = new Map<string, { key: BucketKey; counters: Counters }>();
  for (const item of items) {
    const id = bucketId(item.key);
    const bucket = buckets.get(id);
    if (bucket === undefined) buckets.set(id, { key: item.key, counters: { ...item.counters } });
    else bucket.counters = addCounters(bucket.counters, item.counters);
  }
  return buckets;
}

/**
 * Completes the counting of processes that died mid-way (journal.repository.ts): their counter writes
 * are applied again (marked documents skipped), then each of their batches that no write carried has
 * the events it claimed counted. Returns how many journals it recovered.
 */
export async function recoverCounting(
  deps: Pick<ProjectionDeps, 'counters' | 'claims' | 'journal'>,
  options: { staleMs: number; abandonMs: number },
): Promise<number> {
  const { journal } = deps;
  if (journal === undefined) return 0;
  let recovered = await deps.counters.recoverWrites(options.staleMs, options.abandonMs);
  const { batches } = await journal.orphans(options.staleMs, options.abandonMs);
  for (const batch of batches) {
    if (!(await journal.adopt(batch.id, batch.owner))) continue;
    const claimed = await deps.claims.claimedBy(
      batch.id,
      batch.items.map((item) => item.id),
    );
    const buckets = bucketsOf(batch.items.filter((item) => claimed.has(item.id)));
    if (buckets.size > 0) await deps.counters.applyBatch(buckets.values(), batch.id);
    else await journal.closeBatches([batch.id]);
    recovered += 1;
  }
  return recovered;
}

export interface LeadEventsConsumerOptions extends ProjectionDeps {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  registry?: Metrics['registry'];
  concurrency?: number;
  /** Skips redelivered events before any read-model work (one `$in` look-up per batch). */
  dedup?: ProcessedEvents;
  maxBatchSize?: number;
}

/** The consumer-group member that projects every lead topic into the read models. */
export function createLeadEventsConsumer(options: LeadEventsConsumerOptions): EventConsumer {
  return createConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: options.topics,
    logger: options.logger,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    parse: parseLeadEvent,
    batchHandler: createLeadEventsBatchHandler(options),
    ...(options.dedup === undefined ? {} : { dedup: options.dedup }),
    maxBatchSize: options.maxBatchSize ?? 2_000,
    concurrency: options.concurrency ?? 6,
  });
}
