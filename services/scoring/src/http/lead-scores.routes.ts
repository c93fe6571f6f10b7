import { assertTenant, requirePrincipal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { LocalizedText } from '../domain/grade-dictionaries.js';
import { PriorLevels } from '../domain/conversion-prior.js';
import { ScoreFactorNames } from '../domain/score.js';
import type { LeadGradeRepository } from '../repositories/lead-grade.repository.js';
import type { ScoreRecordRepository } from '../repositories/score-record.repository.js';
import type { DictionaryResolver } from '../use-cases/dictionaries.js';

export interface LeadScoreRouteDeps {
  leadGrades: LeadGradeRepository;
  scoreRecords: ScoreRecordRepository;
  dictionaries: DictionaryResolver;
}

const DictionaryRef = Type.Object({ brand: Type.String(), version: Type.Integer() });

const LeadScoreSchema = Type.Object(
  {
    leadId: Type.String(),
    grade: Type.Object({ code: Type.String(), labels: LocalizedText }),
    score: Type.Number({ minimum: 0, maximum: 100 }),
    factors: Type.Array(
      Type.Object({
        factor: Type.Union(ScoreFactorNames.map((name) => Type.Literal(name))),
        weight: Type.Number(),
        value: Type.Number(),
        contribution: Type.Number(),
        explanation: LocalizedText,
      }),
    ),
    explanation: LocalizedText,
    reasons: Type.Array(LocalizedText),
    dictionary: DictionaryRef,
    purchaseWindowDays: Type.Optional(Type.Integer()),
    followUpIntervalDays: Type.Integer(),
    slaPolicy: Type.Object({
      id: Type.String(),
      firstContactMinutes: Type.Integer(),
      businessTime: Type.Boolean(),
      reminderAtPct: Type.Integer(),
      graceMinutes: Type.Integer(),
    }),
    channelPrior: Type.Optional(
      Type.Object(
        {
          value: Type.Number(),
          base: Type.Number({ description: "The channel type's static quality before any outcome." }),
          smoothing: Type.Number({ description: 'Pseudo-leads at the parent level rate.' }),
          channel: Type.String(),
          model: Type.String(),
          region: Type.String(),
          levels: Type.Array(
            Type.Object({
              level: Type.Union(PriorLevels.map((l) => Type.Literal(l))),
              key: Type.String(),
              wins: Type.Integer(),
              losses: Type.Integer(),
              rate: Type.Number(),
            }),
          ),
          explanation: LocalizedText,
        },
        { description: 'The evidence behind the channel factor: won and defeated leads per level.' },
      ),
    ),
    /** Set when the dictionary's lock rule fixed the grade (Nissan: 3 calls in the first week). */
    lockedAt: Type.Optional(Type.String({ format: 'date-time' })),
    eventId: Type.String({ description: 'The scoring event that announced this grade.' }),
    history: Type.Array(
      Type.Object({
        eventId: Type.String(),
        kind: Type.Union([Type.Literal('scored'), Type.Literal('regraded')]),
        trigger: Type.String(),
        grade: Type.String(),
        previousGrade: Type.Optional(Type.String()),
        score: Type.Number(),
        dictionary: DictionaryRef,
        at: Type.String({ format: 'date-time' }),
      }),
    ),
  },
  { description: "A lead's current grade and score with the explanation, and its grade history." },
);

/**
 * Explains a lead's grade and score. OEM roles see every lead of their OEM; dealer roles only leads of
 * their dealer (the showroom that captured it or the owner named by the latest lifecycle event), and
 * agents only their own; another tenant's lead answers 404 so its existence does not leak.
 */
export function registerLeadScoreRoutes(app: HttpApp, deps: LeadScoreRouteDeps): void {
  app.get(
    '/v1/leads/:leadId/score',
    {
      schema: {
        tags: ['scores'],
        summary: "Explain a lead's grade and score",
        params: Type.Object({ leadId: Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' }) }),
        response: { 200: LeadScoreSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const lead = await deps.leadGrades.find({ oemId: principal.oemId, leadId });
      if (lead === null) throw new AppError('not_found', 'Resource not found.');
      assertTenant(principal, {
        oemId: lead.oemId,
        ...(lead.dealerId === undefined ? {} : { dealerId: lead.dealerId }),
        ...(lead.agentId === undefined ? {} : { agentId: lead.agentId }),
      });
      const dictionary = await deps.dictionaries.version(
        lead.oemId,
        lead.dictionary.brand,
        lead.dictionary.version,
      );
      const grade = dictionary.grades.find((g) => g.code === lead.grade);
      const history = await deps.scoreRecords.listForLead({ oemId: lead.oemId, leadId });
      return {
        leadId,
        grade: { code: lead.grade, labels: grade?.labels ?? { 'zh-CN': lead.grade, en: lead.grade } },
        score: lead.score,
        factors: lead.factors,
        explanation: lead.explanation,
        reasons: lead.reasons,
        dictionary: lead.dictionary,
        ...(lead.purchaseWindowDays === undefined ? {} : { purchaseWindowDays: lead.purchaseWindowDays }),
        followUpIntervalDays: lead.followUpIntervalDays,
        slaPolicy: lead.slaPolicy,
        ...(lead.channelPrior === undefined ? {} : { channelPrior: lead.channelPrior }),
        ...(lead.lock.lockedAt === undefined ? {} : { lockedAt: lead.lock.lockedAt }),
        eventId: lead.lastEventId,
        history: history
          // A record beyond the lead's regrade count belongs to an attempt still being committed.
          .filter((r) => r.kind === 'scored' || r.sequence <= lead.regradeCount)
          .map((r) => ({
            eventId: r.eventId,
            kind: r.kind,
            trigger: r.trigger,
            grade: r.grade,
            ...(r.previousGrade === undefined ? {} : { previousGrade: r.previousGrade }),
            score: r.score,
            dictionary: r.dictionary,
            at: r.createdAt,
          })),
      };
    },
  );
}
