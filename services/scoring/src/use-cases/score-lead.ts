import type { EnvelopeOf } from '@leadflow/contracts/events';
import { makeEnvelope } from '@leadflow/contracts/events';
import type { Publisher } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import { gradeLead } from '../domain/grading.js';
import { explainScore, scoreLead } from '../domain/score.js';
import { chooseSlaPolicy } from '../domain/sla-policy.js';
import type { LeadGrade, LeadGradeRepository } from '../repositories/lead-grade.repository.js';
import type { ScoreRecordRepository } from '../repositories/score-record.repository.js';
import type { ConversionPriors } from './conversion-priors.js';
import type { DictionaryResolver } from './dictionaries.js';
import { republish, scoredPayload } from './scoring-events.js';

export interface ScoreLeadDeps {
  leadGrades: LeadGradeRepository;
  scoreRecords: ScoreRecordRepository;
  dictionaries: DictionaryResolver;
  priors: ConversionPriors;
  publisher: Publisher;
  /** The (prefixed) scoring topic. */
  topic: string;
}

export type IntakeEnvelope = EnvelopeOf<'lead.cleansed' | 'lead.reactivated'>;

/** The deterministic id of a lead's first grade: one `lead.scored` per lead, whatever redelivers. */
export const scoredEventId = (leadId: string) => `${leadId}:scored`;

/**
 * Grades and scores a new (or reactivated) lead and announces it with `lead.scored`.
 *
 * Order of effects, so that a crash anywhere is repaired by redelivery: the score record (keyed by the
 * causing event) is written first, then the lead's grade (unique per lead), then the event is
 * published. A redelivery that finds the grade already written re-publishes the stored envelope with
 * the same id instead of skipping, closing the crash-between-write-and-publish gap.
 */
export function createScoreLead(deps: ScoreLeadDeps) {
  const { leadGrades, scoreRecords, dictionaries, priors, publisher, topic } = deps;

  async function republishExisting(
    envelope: IntakeEnvelope,
    existing: LeadGrade,
    log: Logger,
  ): Promise<void> {
    const { oemId } = envelope;
    // The lead's first record answers, whichever intake event id created it.
    const first = (await scoreRecords.listForLead({ oemId, leadId: existing.leadId })).find(
      (r) => r.kind === 'scored',
    );
    const cause = first?.causeEventId ?? envelope.id;
    const found = await republish(publisher, topic, scoreRecords, { oemId, causeEventId: cause });
    log.info(
      { leadId: existing.leadId, republished: found },
      'lead already graded; lead.scored re-published',
    );
  }

  return async function handle(envelope: IntakeEnvelope, log: Logger): Promise<void> {
    const { oemId, data } = envelope;
    const existing = await leadGrades.find({ oemId, leadId: data.leadId });
    if (existing !== null) return republishExisting(envelope, existing, log);

    const { dictionary, brandReason } = await dictionaries.forNewLead(oemId, data.intent.brand);
    const grading = gradeLead(dictionary, {
      intent: data.intent,
      channel: data.channel,
      inShowroom: data.showroom !== undefined,
    });
    const sla = chooseSlaPolicy(data.channel, grading.grade);
    const previousStatus = envelope.type === 'lead.reactivated' ? envelope.data.previousStatus : undefined;
    const profile = {
      hasName: (data.customer.name ?? '').trim() !== '',
      hasGender: data.customer.gender !== undefined && data.customer.gender !== 'unknown',
      hasContact:
        data.contact.mobileHash !== undefined ||
        data.contact.emailHash !== undefined ||
        data.contact.phoneHash !== undefined,
      marketingConsent: data.consent?.marketing === true,
    };
    const at = new Date(envelope.occurredAt);
    const channelPrior = await priors.estimate({
      oemId,
      channel: data.channel,
      intent: data.intent,
      region: data.region,
      at,
    });
    const score = scoreLead({
      dictionary,
      grading,
      channel: data.channel,
      intent: data.intent,
      region: data.region,
      customer: { hasName: profile.hasName, hasGender: profile.hasGender },
      hasContact: profile.hasContact,
      marketingConsent: profile.marketingConsent,
      markers: data.markers,
      ...(previousStatus === undefined ? {} : { previousStatus }),
      receivedAt: new Date(data.receivedAt),
      at,
      channelPrior,
    });
    const reasons = [
      {
        'zh-CN': `按 ${dictionary.brand} 级别字典 v${dictionary.version}（${brandReason['zh-CN']}）`,
        en: `Graded with the ${dictionary.brand} dictionary v${dictionary.version} (${brandReason.en})`,
      },
      ...grading.reasons,
      {
        'zh-CN': `首次联系时限：${sla.explanation['zh-CN']}`,
        en: `First-contact SLA: ${sla.explanation.en}`,
      },
    ];
    const grade: Omit<LeadGrade, 'version' | 'updatedAt' | 'appliedEventIds' | 'lastEventId'> = {
      leadId: data.leadId,
      oemId,
      ...(data.showroom === undefined
        ? {}
        : { dealerId: data.showroom.dealerId, showroomDealerId: data.showroom.dealerId }),
      customerId: data.customerId,
      customerKey: data.customerKey,
      channel: data.channel,
      region: data.region,
      intent: data.intent,
      markers: data.markers,
      ...(previousStatus === undefined ? {} : { previousStatus }),
      receivedAt: data.receivedAt,
      profile,
      dictionary: { brand: dictionary.brand, version: dictionary.version },
      grade: grading.grade.code,
      score: score.score,
      factors: score.factors,
      explanation: explainScore(grading.grade, score, reasons),
      reasons,
      ...(grading.grade.purchaseWindowDays === undefined
        ? {}
        : { purchaseWindowDays: grading.grade.purchaseWindowDays }),
      followUpIntervalDays: grading.grade.followUpIntervalDays,
      slaPolicy: sla.policy,
      channelPrior,
      regradeCount: 0,
      lock: { callsAt: [] },
      engagement: {},
    };
    const event = makeEnvelope('lead.scored', {
      id: scoredEventId(data.leadId),
      oemId,
      correlationId: envelope.correlationId,
      causationId: envelope.id,
      data: scoredPayload(grade),
    });

    await scoreRecords.save({
      causeEventId: envelope.id,
      oemId,
      leadId: data.leadId,
      kind: 'scored',
      sequence: 0,
      eventId: event.id,
      trigger: envelope.type,
      grade: grade.grade,
      score: grade.score,
      factors: grade.factors,
      explanation: grade.explanation,
      reasons,
      dictionary: grade.dictionary,
      envelope: JSON.stringify(event),
    });
    const inserted = await leadGrades.insert({ ...grade, lastEventId: event.id });
    if (!inserted) {
      const winner = await leadGrades.find({ oemId, leadId: data.leadId });
      if (winner !== null) return republishExisting(envelope, winner, log);
    }
    await publisher.publish(topic, event);
    log.info(
      {
        leadId: data.leadId,
        grade: grade.grade,
        score: grade.score,
        dictionary: grade.dictionary,
        slaPolicy: sla.policy.id,
      },
      'lead scored',
    );
  };
}
