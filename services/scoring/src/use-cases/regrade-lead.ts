import type { Actor } from '@leadflow/contracts/common';
import { makeEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { NonRetriableError, RetriableError, type Publisher } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import type { GradeDefinition, RegradeTrigger } from '../domain/grade-dictionaries.js';
import { decideRegrade, type IntentEvent } from '../domain/regrade.js';
import { explainScore, scoreLead } from '../domain/score.js';
import { chooseSlaPolicy } from '../domain/sla-policy.js';
import { parseTimeframe } from '../domain/timeframe.js';
import type {
  LeadGrade,
  LeadGradeChanges,
  LeadGradeRepository,
} from '../repositories/lead-grade.repository.js';
import type { ScoreRecordRepository } from '../repositories/score-record.repository.js';
import type { ConversionPriors } from './conversion-priors.js';
import type { DictionaryResolver } from './dictionaries.js';
import { republish, scoredPayload } from './scoring-events.js';

export interface RegradeLeadDeps {
  leadGrades: LeadGradeRepository;
  scoreRecords: ScoreRecordRepository;
  dictionaries: DictionaryResolver;
  priors: ConversionPriors;
  publisher: Publisher;
  topic: string;
}

export type TriggerEnvelope = EnvelopeOf<RegradeTrigger>;

/** `${leadId}:regraded:${n}`: the n-th grade change of a lead. */
export const regradedEventId = (leadId: string, sequence: number) => `${leadId}:regraded:${sequence}`;

/** A state conflict with another instance is retried this many times before the consumer backs off. */
const MAX_CONFLICT_RETRIES = 3;

function toIntentEvent(envelope: TriggerEnvelope): IntentEvent {
  switch (envelope.type) {
    case 'lead.followed_up': {
      const d = envelope.data;
      return {
        type: envelope.type,
        at: new Date(d.contactedAt),
        method: d.method,
        outcome: d.outcome,
        ...(d.intent === undefined ? {} : { intent: d.intent }),
        ...(d.gradeSuggestion === undefined ? {} : { gradeSuggestion: d.gradeSuggestion }),
      };
    }
    case 'lead.visited':
      return { type: envelope.type, at: new Date(envelope.data.visitedAt) };
    case 'lead.test_driven':
      return { type: envelope.type, at: new Date(envelope.data.testDrivenAt) };
    case 'lead.ordered':
      return { type: envelope.type, at: new Date(envelope.data.orderedAt) };
    case 'lead.nurture_reverified': {
      const d = envelope.data;
      return {
        type: envelope.type,
        at: new Date(d.reverifiedAt),
        outcome: d.outcome,
        ...(d.intent === undefined ? {} : { intent: d.intent }),
      };
    }
    case 'lead.nurture_handed_back': {
      const d = envelope.data;
      return {
        type: envelope.type,
        at: new Date(d.handedBackAt),
        ...(d.intent === undefined ? {} : { intent: d.intent }),
      };
    }
  }
}

function ownerOf(envelope: TriggerEnvelope): { dealerId?: string; agentId?: string; actor?: Actor } {
  const data = envelope.data as { dealerId?: string; agentId?: string; actor?: Actor };
  return {
    ...(data.dealerId === undefined ? {} : { dealerId: data.dealerId }),
    ...(data.agentId === undefined ? {} : { agentId: data.agentId }),
    ...(data.actor === undefined ? {} : { actor: data.actor }),
  };
}

/** Days behind a grade for the score's purchase-window explanation. */
function purchaseDaysFor(
  grade: GradeDefinition,
  stated: number | undefined,
  intentTimeframe: LeadGrade['intent']['timeframe'],
): number {
  if (stated !== undefined) return stated;
  const parsed = parseTimeframe(intentTimeframe);
  if (parsed.ok) return parsed.days;
  return grade.purchaseWindowDays ?? grade.minPurchaseWindowDays ?? 0;
}

/**
 * Applies one lifecycle event that may carry new intent. The lead's grade document is the commit
 * point: it is updated conditionally on its version and records the event id, so a redelivery neither
 * counts a call twice (the Nissan lock) nor creates a second regrade; it re-publishes the stored event.
 */
export function createRegradeLead(deps: RegradeLeadDeps) {
  const { leadGrades, scoreRecords, dictionaries, priors, publisher, topic } = deps;

  return async function handle(envelope: TriggerEnvelope, log: Logger): Promise<void> {
    const { oemId } = envelope;
    const leadId = envelope.data.leadId;
    for (let attempt = 1; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
      const state = await leadGrades.find({ oemId, leadId });
      if (state === null) {
        throw new NonRetriableError(
          `lead ${leadId} has no grade in OEM ${oemId}; ${envelope.type} cannot regrade it`,
        );
      }
      if (state.appliedEventIds.includes(envelope.id)) {
        const found = await republish(publisher, topic, scoreRecords, { oemId, causeEventId: envelope.id });
        log.debug({ leadId, republished: found }, 'lifecycle event already applied');
        return;
      }

      const dictionary = await dictionaries.version(oemId, state.dictionary.brand, state.dictionary.version);
      const decision = decideRegrade(
        dictionary,
        { grade: state.grade, intent: state.intent, lock: state.lock, engagement: state.engagement },
        toIntentEvent(envelope),
        state.channel,
      );
      const owner = ownerOf(envelope);
      const changes: LeadGradeChanges = {
        intent: decision.intent,
        lock: decision.lock,
        engagement: decision.engagement,
        ...(owner.dealerId === undefined ? {} : { dealerId: owner.dealerId }),
        ...(owner.agentId === undefined ? {} : { agentId: owner.agentId }),
      };

      let event: EnvelopeOf<'lead.regraded'> | undefined;
      if (decision.changed) {
        const sequence = state.regradeCount + 1;
        const grade = decision.grade;
        const sla = chooseSlaPolicy(state.channel, grade);
        const at = new Date(envelope.occurredAt);
        // The prior as learnt by now, for the lead's intent after this event (a new model moves it).
        const channelPrior = await priors.estimate({
          oemId,
          channel: state.channel,
          intent: decision.intent,
          region: state.region,
          at,
        });
        const score = scoreLead({
          dictionary,
          grading: {
            grade,
            basis: decision.basis,
            purchaseDays: purchaseDaysFor(grade, decision.purchaseDays, decision.intent.timeframe),
          },
          channel: state.channel,
          intent: decision.intent,
          region: state.region,
          customer: { hasName: state.profile.hasName, hasGender: state.profile.hasGender },
          hasContact: state.profile.hasContact,
          marketingConsent: state.profile.marketingConsent,
          markers: state.markers,
          ...(state.previousStatus === undefined ? {} : { previousStatus: state.previousStatus }),
          receivedAt: new Date(state.receivedAt),
          at,
          engagement: decision.engagement,
          channelPrior,
        });
        const reasons = [
          {
            'zh-CN': `${envelope.type}：由${state.grade}级调整为${grade.code}级`,
            en: `${envelope.type}: regraded ${state.grade} → ${grade.code}`,
          },
          ...decision.reasons,
        ];
        const gradeChanges: LeadGradeChanges = {
          grade: grade.code,
          score: score.score,
          factors: score.factors,
          explanation: explainScore(grade, score, reasons),
          reasons,
          ...(grade.purchaseWindowDays === undefined ? {} : { purchaseWindowDays: grade.purchaseWindowDays }),
          followUpIntervalDays: grade.followUpIntervalDays,
          slaPolicy: sla.policy,
          channelPrior,
          regradeCount: sequence,
          lastEventId: regradedEventId(leadId, sequence),
        };
        Object.assign(changes, gradeChanges);
        const next: LeadGrade = { ...state, ...changes, intent: decision.intent };
        if (grade.purchaseWindowDays === undefined) delete next.purchaseWindowDays;
        event = makeEnvelope('lead.regraded', {
          id: regradedEventId(leadId, sequence),
          oemId,
          correlationId: envelope.correlationId,
          causationId: envelope.id,
          data: {
            ...scoredPayload(next),
            previousGrade: state.grade,
            trigger: envelope.type,
            ...owner,
          },
        });
        await scoreRecords.save({
          causeEventId: envelope.id,
          oemId,
          leadId,
          kind: 'regraded',
          sequence,
          eventId: event.id,
          trigger: envelope.type,
          grade: grade.code,
          previousGrade: state.grade,
          score: score.score,
          factors: score.factors,
          explanation: next.explanation,
          reasons,
          dictionary: state.dictionary,
          envelope: JSON.stringify(event),
        });
      }

      // A record for this cause exists only if this cause changed the grade: an earlier attempt that
      // lost a race or crashed before committing may have left one behind.
      if (event === undefined) await scoreRecords.remove({ oemId, causeEventId: envelope.id });
      if (!(await leadGrades.update({ oemId, leadId, version: state.version }, changes, envelope.id))) {
        log.debug({ leadId, attempt }, 'lead grade changed concurrently; deciding again');
        continue;
      }
      if (event !== undefined) {
        await publisher.publish(topic, event);
        log.info(
          { leadId, from: state.grade, to: decision.grade.code, trigger: envelope.type },
          'lead regraded',
        );
      } else {
        log.debug(
          {
            leadId,
            grade: state.grade,
            trigger: envelope.type,
            locked: decision.lock.lockedAt !== undefined,
          },
          'grade unchanged',
        );
      }
      return;
    }
    throw new RetriableError(`lead ${leadId} kept changing concurrently; retrying ${envelope.type} later`);
  };
}
