import type { Envelope } from '@leadflow/contracts/envelope';
import type { BatchHandler, MessageContext } from '@leadflow/platform/kafka';
import { messageContextOf } from '@leadflow/platform/kafka';
import type { CalendarRepository } from '../repositories/calendar.repository.js';

/** The lead an event is about (every topic nurturing consumes is keyed by it). */
const leadOf = (envelope: Envelope): string => {
  const leadId = (envelope.data as { leadId?: unknown } | undefined)?.leadId;
  return typeof leadId === 'string' ? leadId : envelope.id;
};

/**
 * Batch mode for handlers that make one Temporal call per event: the chunk's events are grouped by
 * lead, each lead's events run in their offset order (the topics' ordering guarantee is per lead), and
 * up to `concurrency` leads run at once, so a burst of `lead.allocated` is as many concurrent
 * `signalWithStart`s instead of one after another. Every lead's events run even when another lead's
 * failed; the first error is then thrown, and the consumer re-runs the chunk one event at a time (the
 * handlers are idempotent: the workflow id is the lead's, and the workflow applies an event id once).
 */
export function createLeadBatchHandler(
  handle: (envelope: Envelope, ctx: MessageContext) => Promise<void>,
  concurrency: number,
): BatchHandler {
  return async (envelopes, ctx) => {
    if (envelopes.length === 1 && envelopes[0] !== undefined) {
      const [envelope] = envelopes;
      return handle(envelope, messageContextOf(ctx, envelope));
    }
    const byLead = new Map<string, Envelope[]>();
    for (const envelope of envelopes) {
      const key = leadOf(envelope);
      const list = byLead.get(key);
      if (list === undefined) byLead.set(key, [envelope]);
      else list.push(envelope);
    }
    const queue = [...byLead.values()];
    const failures: unknown[] = [];
    const worker = async () => {
      for (let lead = queue.shift(); lead !== undefined; lead = queue.shift()) {
        try {
          for (const envelope of lead) {
            if (ctx.signal.aborted) throw new Error('batch abandoned: the consumer is shutting down');
            await handle(envelope, messageContextOf(ctx, envelope));
          }
        } catch (error) {
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
    if (failures.length > 0) throw failures[0];
  };
}

/** One look-up per dealer for the batch's lifetime: the calendars of a burst are read once. */
export function memoCalendars(calendars: CalendarRepository): CalendarRepository {
  const seen = new Map<string, ReturnType<CalendarRepository['forDealer']>>();
  return {
    ...calendars,
    forDealer(scope) {
      const key = `${scope.oemId}:${scope.dealerId}`;
      let found = seen.get(key);
      if (found === undefined) {
        found = calendars.forDealer(scope);
        seen.set(key, found);
        found.catch(() => seen.delete(key));
      }
      return found;
    },
  };
}
