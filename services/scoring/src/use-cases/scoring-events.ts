import type { EnvelopeOf, PayloadOf } from '@leadflow/contracts/events';
import type { Publisher } from '@leadflow/platform/kafka';
import { eventExplanation } from '../domain/score.js';
import type { LeadGrade } from '../repositories/lead-grade.repository.js';
import type { ScoreRecordRepository } from '../repositories/score-record.repository.js';
import { compact } from '../repositories/shared.schema.js';

/** The `lead.scored` payload announcing a lead's current grade. */
export function scoredPayload(
  grade: Omit<LeadGrade, 'version' | 'updatedAt' | 'appliedEventIds' | 'lastEventId'>,
): PayloadOf<'lead.scored'> {
  return compact({
    leadId: grade.leadId,
    customerId: grade.customerId,
    customerKey: grade.customerKey,
    grade: grade.grade,
    score: grade.score,
    factors: grade.factors.map((f) => ({
      factor: f.factor,
      weight: f.weight,
      contribution: f.contribution,
      explanation: eventExplanation(f.explanation),
    })),
    dictionary: { brand: grade.dictionary.brand, version: grade.dictionary.version },
    purchaseWindowDays: grade.purchaseWindowDays,
    followUpIntervalDays: grade.followUpIntervalDays,
    slaPolicy: { ...grade.slaPolicy },
    reasons: grade.reasons.slice(0, 50).map(eventExplanation),
    channel: { ...grade.channel },
    region: { ...grade.region },
    intent: { ...grade.intent },
    markers: [...grade.markers],
    showroomDealerId: grade.showroomDealerId,
    receivedAt: grade.receivedAt,
  });
}

/** Re-publishes a stored envelope byte for byte, so the event id and body downstream see are unchanged. */
export async function republish(
  publisher: Publisher,
  topic: string,
  records: ScoreRecordRepository,
  filter: { oemId: string; causeEventId: string },
): Promise<boolean> {
  const record = await records.findByCause(filter);
  if (record === null) return false;
  await publisher.publish(topic, JSON.parse(record.envelope) as EnvelopeOf<'lead.scored' | 'lead.regraded'>);
  return true;
}
