import type { Envelope } from '@leadflow/contracts/envelope';
import { parseEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import {
  createConsumer,
  NonRetriableError,
  type BatchContext,
  type EnvelopeParser,
  type EventConsumer,
} from '@leadflow/platform/kafka';
import type { Kafka } from 'kafkajs';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import { addCounters, type Counters } from '../domain/counters.js';
import {
  foldRound,
  settleRound,
  type ClaimState,
  type CountableItem,
  type LeadChange,
  type PendingEvent,
  type StoredSnapshot,
} from '../domain/lead-batch.js';
import { bucketId, type BucketKey } from '../domain/lead-counting.js';
import { businessTimeOf, ownerOf, stageOf, summarise, type SummarisedEvent } from '../domain/lead-events.js';
import { snapshotUpdatesFor } from '../domain/lead-snapshot.js';
import type { ClaimRepository } from '../repositories/claim.repository.js';
import type { CounterRepository } from '../repositories/counter.repository.js';
import type { EventDoc } from '../repositories/event.schema.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { JournalRepository } from '../repositories/journal.repository.js';
import type { LeadRepository, LeadSnapshot } from '../repositories/lead.repository.js';

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
    },
    summary: { id: event.id, type: event.type, at, data },
  };
}

/**
 * Projects a batch of events into the read models in a handful of bulk operations:
 *
 * 1. the timeline: one unordered `insertMany` (a duplicate key is a redelivery);
 * 2. the snapshots: one `$in` read of the leads the batch touches; each lead's changes folded in
 *    memory (`foldLead`: the order-free snapshot operators; the lead's own events recorded as
 *    pending counting);
 * 3. the counters: every pending event of those leads that has become countable is journalled, then
 *    claimed with one unordered `insertMany` of its id into `counted_events` (a duplicate key =
 *    counted already, by a redelivery or by another partition's batch), and the claimed events'
 *    increments are handed to the counter repository (group-committed roll-up writes);
 * 4. the counted events are settled (dropped from `pending`) in memory, and each lead is written once,
 *    over the version it was read at (`writeMany`: one `insertMany` of the new leads, one bulk
 *    `replaceOne({ _id, v })` of the others).
 *
 * A lead written by another batch in between (another topic's partition holding events of the same
 * lead) loses the race: it is read again and the batch's changes are folded into the newer snapshot
 * (a no-op for what is already in it), which may make more of its pending events countable — those
 * are claimed and counted in the same way — then written again, until every lead is written.
 *
 * Why nothing is lost or counted twice: a claim lets exactly one batch count an event; a snapshot is
 * only ever replaced by a writer that read the version it replaces, so whoever writes a lead last saw
 * every earlier writer's pending events; a failed counter write releases the batch's claims before
 * the error propagates (the consumer retries the chunk, then event by event), and nothing of the
 * snapshots was written yet. A batch settles only the events it claimed or its own redelivered ones:
 * an event another batch claimed stays pending for that batch (it settles it, or, if its counter
 * write fails, releases the claim and counts it on its retry). A process killed after its claims is
 * completed from its journal (`recoverCounting`); its redelivered events then find their claims and
 * are settled without counting again.
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

    // Each lead's changes: its own events (recorded as pending: a redelivery too, whose claim then
    // settles it again) and the 重 marker a duplicate gives its open lead.
    const changes = new Map<string, { oemId: string; items: LeadChange[] }>();
    for (const { event, summary } of prepared) {
      for (const update of snapshotUpdatesFor(event)) {
        const own = update.leadId === event.data.leadId;
        const entry = changes.get(update.leadId) ?? { oemId: update.oemId, items: [] };
        entry.items.push(own ? { update, pending: summary } : { update });
        changes.set(update.leadId, entry);
      }
    }
    const own = new Set(prepared.map((p) => p.event.id));
    const claims: ClaimState = { here: new Set(), elsewhere: new Set() };
    let todo = [...changes.keys()];
    for (let round = 1; todo.length > 0; round += 1) {
      if (round > 50) throw new Error(`leads kept changing under the batch: ${todo.length}`);
      const current = (await deps.leads.readMany(todo)) as unknown as ReadonlyMap<string, StoredSnapshot>;
      const { next, countable, foreign } = foldRound(todo, current, changes, claims, deps.timeZone);
      // A lead id that exists under another tenant: the event's fault, never retried.
      if (foreign !== undefined) throw new NonRetriableError(`lead ${foreign} belongs to another tenant`);
      if (countable.length > 0) {
        const claimed = await count(countable, ctx);
        for (const item of countable) (claimed.has(item.id) ? claims.here : claims.elsewhere).add(item.id);
      }
      const writes = settleRound(next, claims, own) as unknown as {
        doc: LeadSnapshot;
        expected: number | undefined;
      }[];
      todo = [...(await deps.leads.writeMany(writes))];
    }
  };

  /** Journals, claims and counts events; returns the ids this call claimed. */
  async function count(
    countable: readonly CountableItem[],
    ctx: Pick<BatchContext, 'logger'>,
  ): Promise<Set<string>> {
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
    return claimed;
  }
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
    maxBatchSize: options.maxBatchSize ?? 2_000,
    concurrency: options.concurrency ?? 6,
  });
}
