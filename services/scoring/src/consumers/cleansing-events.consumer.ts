import type { Envelope } from '@leadflow/contracts/envelope';
import type { Logger } from '@leadflow/platform/logger';
import type { IntakeEnvelope } from '../use-cases/score-lead.js';

const graded: readonly string[] = ['lead.cleansed', 'lead.reactivated'];

/**
 * The cleansing topic, a batch (one partition's chunk, in offset order) at a time: `lead.cleansed`
 * and `lead.reactivated` (激) are new leads to grade, together. Duplicates (重) are merged into an open
 * lead that keeps its grade, and invalid leads are never graded, so both are acknowledged without work.
 */
export function createCleansingEventsHandler(
  scoreLeads: (envelopes: readonly IntakeEnvelope[], log: Logger) => Promise<void>,
) {
  return async (envelopes: readonly Envelope[], log: Logger): Promise<void> => {
    // The consumer validated each payload against the catalogue before calling us.
    const intakes = envelopes.filter((e) => graded.includes(e.type)) as IntakeEnvelope[];
    if (intakes.length < envelopes.length) {
      log.debug({ skipped: envelopes.length - intakes.length }, 'cleansing events not graded');
    }
    if (intakes.length > 0) await scoreLeads(intakes, log);
  };
}
