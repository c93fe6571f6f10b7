import { sampleEnvelope, sampleEvents } from '@leadflow/contracts/fixtures';
import { describe, expect, it } from 'vitest';
import { estimateChannelPrior, priorCells } from '../domain/conversion-prior.js';
import { GradeDictionaryPresets } from '../domain/grade-dictionaries.js';
import { gradeLead } from '../domain/grading.js';
import { chooseSlaPolicy } from '../domain/sla-policy.js';
import type { StoredGradeDictionary } from '../repositories/grade-dictionary.repository.js';
import { buildFirstGrade, scoredEventId, type IntakeEnvelope } from './score-lead.js';

const dictionary: StoredGradeDictionary = {
  ...GradeDictionaryPresets.gwm!,
  oemId: 'o',
  brand: 'gwm',
  version: 3,
  active: true,
  createdBy: 'preset',
  createdAt: new Date('2025-01-01T00:00:00.000Z'),
};
const brandReason = { 'zh-CN': '线索意向品牌', en: "the lead's brand" };
const scoredAt = new Date('2025-03-15T08:00:00.000Z');

const cleansed = (leadId: string, timeframe: string): IntakeEnvelope =>
  sampleEnvelope('lead.cleansed', {
    data: {
      ...sampleEvents['lead.cleansed'],
      leadId,
      intent: { brand: 'gwm', model: 'H6', budget: 150000, timeframe },
    },
    id: `${leadId}:cleansed`,
    oemId: 'o',
  });

function priorOf(envelope: IntakeEnvelope, counts = new Map<string, { wins: number; losses: number }>()) {
  const { channel, intent, region } = envelope.data;
  return estimateChannelPrior({ cells: priorCells(channel, intent, region), counts, base: 0.5 });
}

describe('buildFirstGrade', () => {
  it('grades with the dictionary rules and the SLA choice of the domain, unchanged', () => {
    for (const timeframe of ['一周内', '半个月', '1个月', '3个月', '半年以上']) {
      const envelope = cleansed(`l-${timeframe}`, timeframe);
      const { grade } = buildFirstGrade({
        envelope,
        dictionary,
        brandReason,
        channelPrior: priorOf(envelope),
        scoredAt,
      });
      const expected = gradeLead(dictionary, {
        intent: envelope.data.intent,
        channel: envelope.data.channel,
        inShowroom: envelope.data.showroom !== undefined,
      }).grade;
      expect(grade.grade, timeframe).toBe(expected.code);
      expect(grade.followUpIntervalDays).toBe(expected.followUpIntervalDays);
      expect(grade.slaPolicy).toEqual(chooseSlaPolicy(envelope.data.channel, expected).policy);
      expect(grade.dictionary).toEqual({ brand: 'gwm', version: 3 });
    }
  });

  it('is pure: the same inputs give the same grade, envelope bytes and record', () => {
    const envelope = cleansed('l-pure', '半个月');
    const a = buildFirstGrade({
      envelope,
      dictionary,
      brandReason,
      channelPrior: priorOf(envelope),
      scoredAt,
    });
    const b = buildFirstGrade({
      envelope,
      dictionary,
      brandReason,
      channelPrior: priorOf(envelope),
      scoredAt,
    });
    expect(b).toEqual(a);
    expect(b.grade.scoredEnvelope).toBe(a.grade.scoredEnvelope);
  });

  it('carries the serialized lead.scored with the grade and derives the score record from the same grade', () => {
    const envelope = cleansed('l-1', '一周内');
    const { grade, event, record } = buildFirstGrade({
      envelope,
      dictionary,
      brandReason,
      channelPrior: priorOf(envelope),
      scoredAt,
    });
    expect(event.id).toBe(scoredEventId('l-1'));
    expect(event.causationId).toBe(envelope.id);
    expect(event.correlationId).toBe(envelope.correlationId);
    expect(event.occurredAt).toBe(scoredAt.toISOString());
    expect(grade.scoredEnvelope).toBe(JSON.stringify(event));
    expect(grade.lastEventId).toBe(event.id);
    expect(event.data).toMatchObject({ leadId: 'l-1', grade: grade.grade, score: grade.score });
    expect(record).toMatchObject({
      causeEventId: envelope.id,
      leadId: 'l-1',
      kind: 'scored',
      sequence: 0,
      eventId: event.id,
      trigger: 'lead.cleansed',
      grade: grade.grade,
      score: grade.score,
      envelope: grade.scoredEnvelope,
    });
  });

  it('a learnt prior moves the score, never the grade', () => {
    const envelope = cleansed('l-prior', '半个月');
    const cells = priorCells(envelope.data.channel, envelope.data.intent, envelope.data.region);
    const won = new Map(cells.map((c) => [c.key, { wins: 40, losses: 0 }] as const));
    const lost = new Map(cells.map((c) => [c.key, { wins: 0, losses: 40 }] as const));
    const high = buildFirstGrade({
      envelope,
      dictionary,
      brandReason,
      channelPrior: priorOf(envelope, won),
      scoredAt,
    });
    const low = buildFirstGrade({
      envelope,
      dictionary,
      brandReason,
      channelPrior: priorOf(envelope, lost),
      scoredAt,
    });
    expect(high.grade.grade).toBe(low.grade.grade);
    expect(high.grade.score).toBeGreaterThan(low.grade.score);
    expect(high.grade.channelPrior?.levels[2]).toMatchObject({ wins: 40, losses: 0 });
  });

  it('a reactivated lead (激) keeps its previous status in the grade and its record names the trigger', () => {
    const envelope = sampleEnvelope('lead.reactivated', {
      data: { ...sampleEvents['lead.reactivated'], leadId: 'l-react' },
      id: 'l-react:reactivated',
      oemId: 'o',
    });
    const { grade, record } = buildFirstGrade({
      envelope,
      dictionary,
      brandReason,
      channelPrior: priorOf(envelope),
      scoredAt,
    });
    expect(grade.previousStatus).toBe(sampleEvents['lead.reactivated'].previousStatus);
    expect(record.trigger).toBe('lead.reactivated');
  });
});
