import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import type { LifecycleClient } from '../temporal/lifecycle-client.js';

/**
 * A new grade changes the follow-up cadence of an allocated lead. A lead without a lifecycle is not
 * allocated yet: allocation consumes the same regrade and the allocation will carry the grade.
 */
export function createRegradedHandler(deps: { lifecycle: LifecycleClient }) {
  return async (envelope: EnvelopeOf<'lead.regraded'>, ctx: MessageContext): Promise<void> => {
    const { data } = envelope;
    const outcome = await deps.lifecycle.signalRegrade(data.leadId, {
      eventId: envelope.id,
      grade: data.grade,
      followUpIntervalDays: data.followUpIntervalDays,
      slaPolicy: data.slaPolicy,
      at: envelope.occurredAt,
      correlationId: envelope.correlationId,
    });
    if (outcome !== 'signalled')
      ctx.logger.debug({ leadId: data.leadId, outcome }, 'regrade not applied: no running lifecycle');
  };
}
