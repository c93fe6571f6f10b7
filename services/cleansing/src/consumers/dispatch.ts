import type { Envelope } from '@leadflow/contracts/envelope';
import { isEventName, type EnvelopeOf } from '@leadflow/contracts/events';
import type { BatchHandler, MessageHandler, ProcessedEvents } from '@leadflow/platform/kafka';
import { messageContextOf } from '@leadflow/platform/kafka';
import type { LeadRepository } from '../repositories/lead.repository.js';
import { createLeadClosedHandler, isClosingEvent, type ClosingEnvelope } from './lead-closed.consumer.js';
import { createLeadOwnerHandler, isOwnerEvent, type OwnerEnvelope } from './lead-owner.consumer.js';
import { createLeadReceivedBatchHandler } from './lead-received.batch.js';
import { createLeadReceivedHandler, type LeadReceivedDeps } from './lead-received.consumer.js';

export interface CleansingHandlerDeps {
  received: LeadReceivedDeps;
  leads: LeadRepository;
  /** Processed marks of closures and ownership events (never of `lead.received`). */
  processed: ProcessedEvents;
  groupId: string;
}

/**
 * The handler of the cleansing consumer (intake, lifecycle and allocation topics) in the platform
 * consumer's batch mode: a chunk of one partition, in offset order.
 *
 * - `lead.received` runs of a chunk go through the batch path (bulk reads, decisions in memory, bulk
 *   writes, one publish; see {@link createLeadReceivedBatchHandler}). No processed mark: the lead's
 *   recorded outcome (its pool entry or touchpoint, keyed by the lead id) is its idempotency record,
 *   read first anyway; a redelivery re-publishes it.
 * - Closures and ownership events run one by one, with one processed-mark look-up and one mark for
 *   the chunk, after their handlers (a crash in between re-runs idempotent handlers). Other events of
 *   those topics are not ours and are ignored.
 * - A chunk that failed is re-run by the consumer one envelope at a time (`ctx.fallback`): those go
 *   through the per-message handlers, which resolve races on the unique open-lead key and
 *   re-publish whatever the failed attempt recorded.
 */
export function createCleansingBatchHandler(deps: CleansingHandlerDeps): BatchHandler {
  const { processed, groupId } = deps;
  const handleReceived = createLeadReceivedHandler(deps.received);
  const handleReceivedBatch = createLeadReceivedBatchHandler(deps.received);
  const handleClosed = createLeadClosedHandler({ leads: deps.leads });
  const handleOwner = createLeadOwnerHandler({ leads: deps.leads });

  const handleOne: MessageHandler = async (envelope, ctx) => {
    if (!isEventName(envelope.type)) return;
    if (envelope.type === 'lead.received') {
      await handleReceived(envelope as EnvelopeOf<'lead.received'>, ctx);
    } else if (isClosingEvent(envelope.type)) {
      await handleClosed(envelope as ClosingEnvelope, ctx);
    } else if (isOwnerEvent(envelope.type)) {
      await handleOwner(envelope as OwnerEnvelope, ctx);
    }
  };
  const isMarked = (envelope: Envelope) => isClosingEvent(envelope.type) || isOwnerEvent(envelope.type);
  const seenAmong = async (ids: readonly string[]) => {
    if (processed.hasMany !== undefined) return processed.hasMany(groupId, ids);
    const seen = new Set<string>();
    for (const id of ids) if (await processed.has(groupId, id)) seen.add(id);
    return seen;
  };
  const markAll = async (ids: readonly string[]) => {
    if (processed.addMany !== undefined) return processed.addMany(groupId, ids);
    for (const id of ids) await processed.add(groupId, id);
  };

  return async (envelopes, ctx) => {
    if (ctx.fallback) {
      for (const envelope of envelopes) {
        if (isMarked(envelope) && (await processed.has(groupId, envelope.id))) continue;
        await handleOne(envelope, messageContextOf(ctx, envelope));
        if (isMarked(envelope)) await processed.add(groupId, envelope.id);
      }
      return;
    }
    const markedIds = envelopes.filter(isMarked).map((e) => e.id);
    const seen = markedIds.length === 0 ? new Set<string>() : await seenAmong(markedIds);
    let received: EnvelopeOf<'lead.received'>[] = [];
    const flush = async () => {
      if (received.length > 0) await handleReceivedBatch(received, ctx);
      received = [];
    };
    for (const envelope of envelopes) {
      if (envelope.type === 'lead.received') {
        received.push(envelope as EnvelopeOf<'lead.received'>);
        continue;
      }
      await flush();
      if (!seen.has(envelope.id)) await handleOne(envelope, messageContextOf(ctx, envelope));
    }
    await flush();
    const toMark = markedIds.filter((id) => !seen.has(id));
    if (toMark.length > 0) await markAll(toMark);
  };
}
