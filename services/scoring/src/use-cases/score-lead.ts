import type { EnvelopeOf } from '@leadflow/contracts/events';
import { makeEnvelope } from '@leadflow/contracts/events';
import { NonRetriableError, type Publisher } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import type { ChannelPrior } from '../domain/conversion-prior.js';
import type { LocalizedText } from '../domain/grade-dictionaries.js';
import { gradeLead } from '../domain/grading.js';
import { explainScore, scoreLead } from '../domain/score.js';
import { chooseSlaPolicy } from '../domain/sla-policy.js';
import type { LeadGrade, LeadGradeRepository, NewLeadGrade } from '../repositories/lead-grade.repository.js';
import type { StoredGradeDictionary } from '../repositories/grade-dictionary.repository.js';
import type { ScoreRecord, ScoreRecordRepository } from '../repositories/score-record.repository.js';
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

/** Most `lead.scored` events sent in one producer request (each is a few KiB; brokers cap requests). */
const PUBLISH_SLICE = 100;

/**
 * The first grade of a lead, its `lead.scored` envelope and its score record, from the intake event,
 * the dictionary that grades it and its learnt channel prior. Pure: the grading rules (the dictionary's
 * H/A/B/C…), the score and the SLA choice are the domain's; `scoredAt` is the event's time.
 */
export function buildFirstGrade(input: {
  envelope: IntakeEnvelope;
  dictionary: StoredGradeDictionary;
  brandReason: LocalizedText;
  channelPrior: ChannelPrior;
  scoredAt: Date;
}): { grade: NewLeadGrade; event: EnvelopeOf<'lead.scored'>; record: Omit<ScoreRecord, 'createdAt'> } {
  const { envelope, dictionary, brandReason, channelPrior } = input;
  const { oemId, data } = envelope;
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
  const grade: Omit<NewLeadGrade, 'lastEventId' | 'scoredEnvelope'> = {
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
    occurredAt: input.scoredAt,
    data: scoredPayload(grade),
  });
  const serialized = JSON.stringify(event);
  return {
    grade: { ...grade, lastEventId: event.id, scoredEnvelope: serialized },
    event,
    record: recordOf(grade, envelope.id, envelope.type, event.id, serialized),
  };
}

/** The score record of a lead's first grade (its grade history's first entry). */
function recordOf(
  grade: Pick<
    LeadGrade,
    'oemId' | 'leadId' | 'grade' | 'score' | 'factors' | 'explanation' | 'reasons' | 'dictionary'
  >,
  causeEventId: string,
  trigger: string,
  eventId: string,
  envelope: string,
): Omit<ScoreRecord, 'createdAt'> {
  return {
    causeEventId,
    oemId: grade.oemId,
    leadId: grade.leadId,
    kind: 'scored',
    sequence: 0,
    eventId,
    trigger,
    grade: grade.grade,
    score: grade.score,
    factors: grade.factors,
    explanation: grade.explanation,
    reasons: grade.reasons,
    dictionary: grade.dictionary,
    envelope,
  };
}

/**
 * Grades and scores new (or reactivated) leads and announces each with `lead.scored`; a batch at a
 * time (one partition's chunk), with a fixed number of database round trips whatever its size:
 *
 *   1. one read of the batch's leads' grades (by `_id`) and, at the same time, one of the prior
 *      counters they need;
 *   2. grading in memory (the dictionary rules, the score, the SLA), each new grade carrying its
 *      serialized `lead.scored` envelope;
 *   3. one insert of the new grades: the commit point, unique per lead;
 *   4. at the same time, one write of the score records (the grade history, derived from the grades)
 *      and one producer request (per slice of 100) with every `lead.scored` of the batch.
 *
 * Idempotent under redelivery, kill -9 and racing instances: nothing is published before the grade is
 * stored; a lead that already has a grade (a redelivery, a crash after step 3, another instance that
 * got there first) re-publishes the envelope stored with that grade — the same id and bytes, never a
 * second result — and, for a redelivery of its causing event, its score record is written again from
 * it (a crash during step 4).
 */
export function createScoreLeads(deps: ScoreLeadDeps) {
  const { leadGrades, scoreRecords, dictionaries, priors, publisher, topic } = deps;

  /** Grades from before `scoredEnvelope` was kept: the envelope is in the lead's first score record. */
  async function republishLegacy(envelope: IntakeEnvelope, existing: LeadGrade, log: Logger): Promise<void> {
    const { oemId } = envelope;
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

  return async function handleMany(envelopes: readonly IntakeEnvelope[], log: Logger): Promise<void> {
    // One intake event per lead decides; a second one in the same batch re-announces the first's grade.
    const byLead = new Map<string, IntakeEnvelope>();
    for (const envelope of envelopes)
      if (!byLead.has(envelope.data.leadId)) byLead.set(envelope.data.leadId, envelope);
    const intakes = [...byLead.values()];
    // The grades and the priors are read at once (two round trips, one wait); the priors of a lead
    // graded already are not used.
    const priorInputs = intakes.map((e) => ({
      oemId: e.oemId,
      channel: e.data.channel,
      intent: e.data.intent,
      region: e.data.region,
      at: new Date(e.occurredAt),
    }));
    const [existing, allPriors] = await Promise.all([
      leadGrades.findMany(intakes.map((e) => ({ oemId: e.oemId, leadId: e.data.leadId }))),
      priors.estimateMany(priorInputs),
    ]);

    const fresh = intakes.flatMap((envelope, i) =>
      existing.has(envelope.data.leadId) ? [] : [{ envelope, channelPrior: allPriors[i]! }],
    );
    // The dictionary of each OEM and brand once per batch (the resolver caches across batches).
    const dictionaryOf = new Map<string, ReturnType<DictionaryResolver['forNewLead']>>();
    const resolved = [];
    for (const { envelope, channelPrior } of fresh) {
      const key = `${envelope.oemId}\u0000${envelope.data.intent.brand ?? ''}`;
      let dictionary = dictionaryOf.get(key);
      if (dictionary === undefined) {
        dictionary = dictionaries.forNewLead(envelope.oemId, envelope.data.intent.brand);
        dictionaryOf.set(key, dictionary);
      }
      resolved.push({ envelope, channelPrior, ...(await dictionary) });
    }
    const scoredAt = new Date();
    const built = resolved.map((r) => buildFirstGrade({ ...r, scoredAt }));

    const lost = await leadGrades.insertMany(built.map((b) => b.grade));
    const won = built.filter((b) => !lost.has(b.grade.leadId));
    // Leads graded by someone else between our read and our insert: announce their grade instead.
    const winners =
      lost.size === 0
        ? new Map<string, LeadGrade>()
        : await leadGrades.findMany(
            built
              .filter((b) => lost.has(b.grade.leadId))
              .map((b) => ({ oemId: b.grade.oemId, leadId: b.grade.leadId })),
          );
    const graded = new Map<string, LeadGrade>([...existing, ...winners]);

    const records = won.map((b) => b.record);
    // Published as serialized into the grades (the publisher's JSON.stringify of the same objects).
    const envelopesOut: EnvelopeOf<'lead.scored'>[] = won.map((b) => b.event);
    for (const envelope of intakes) {
      const grade = graded.get(envelope.data.leadId);
      if (grade === undefined) {
        if (lost.has(envelope.data.leadId)) {
          // The lead id is taken by another OEM's lead: retrying cannot help.
          throw new NonRetriableError(`lead ${envelope.data.leadId} is graded under another OEM`);
        }
        continue;
      }
      if (grade.scoredEnvelope === undefined) {
        await republishLegacy(envelope, grade, log);
        continue;
      }
      const stored = JSON.parse(grade.scoredEnvelope) as EnvelopeOf<'lead.scored'>;
      // A redelivery of the event that caused the grade: its history entry again (a crash may have
      // come between the grade and it). Before any regrade, as nothing acts on a lead before its
      // lead.scored, which is published after the entry.
      if (stored.causationId === envelope.id && grade.regradeCount === 0) {
        records.push(recordOf(grade, envelope.id, envelope.type, stored.id, grade.scoredEnvelope));
      }
      envelopesOut.push(stored);
    }
    // The history entries and the announcement at once: both follow the committed grades, and a
    // crash after either is repaired by the redelivery (entries rewritten from the grades, the stored
    // envelopes re-published).
    const publishing = (async () => {
      for (let i = 0; i < envelopesOut.length; i += PUBLISH_SLICE) {
        await publisher.publish(topic, envelopesOut.slice(i, i + PUBLISH_SLICE));
      }
    })();
    await Promise.all([scoreRecords.saveMany(records), publishing]);
    for (const b of won) {
      log.info(
        {
          leadId: b.grade.leadId,
          grade: b.grade.grade,
          score: b.grade.score,
          dictionary: b.grade.dictionary,
          slaPolicy: b.grade.slaPolicy.id,
        },
        'lead scored',
      );
    }
    if (envelopesOut.length > won.length) {
      log.info({ count: envelopesOut.length - won.length }, 'leads already graded; lead.scored re-published');
    }
  };
}

/** One lead at a time: {@link createScoreLeads} with a batch of one. */
export function createScoreLead(deps: ScoreLeadDeps) {
  const handleMany = createScoreLeads(deps);
  return (envelope: IntakeEnvelope, log: Logger): Promise<void> => handleMany([envelope], log);
}
