import type { Envelope } from '@leadflow/contracts/envelope';
import type { MessageContext } from '@leadflow/platform/kafka';
import type { IntakeEnvelope } from '../use-cases/score-lead.js';

/**
 * The cleansing topic: `lead.cleansed` and `lead.reactivated` (激) are new leads to grade. Duplicates
 * (重) are merged into an open lead that keeps its grade, and invalid leads are never graded, so both
 * are acknowledged without work.
 */
export function createCleansingEventsHandler(
  scoreLead: (envelope: IntakeEnvelope, log: MessageContext['logger']) => Promise<void>,
) {
  return async (envelope: Envelope, ctx: MessageContext): Promise<void> => {
    switch (envelope.type) {
      case 'lead.cleansed':
      case 'lead.reactivated':
        // The consumer validated the payload against the catalogue before calling us.
        return scoreLead(envelope as IntakeEnvelope, ctx.logger);
      default:
        ctx.logger.debug({ type: envelope.type }, 'cleansing event not graded');
    }
  };
}
