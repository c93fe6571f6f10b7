import { ChannelRef, LeadStatusSchema, literalUnion, WorkQueueSchema } from '@leadflow/contracts/common';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { slaOutcome, SlaOutcomes } from '../domain/lead-snapshot.js';
import type { StoredEvent } from '../repositories/event.repository.js';
import type { LeadSnapshot } from '../repositories/lead.repository.js';
import { MilestoneNames } from '../repositories/lead.schema.js';

const Instant = Type.String({ format: 'date-time' });
const Opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

export const LeadView = Type.Object(
  {
    leadId: Type.String(),
    oemId: Type.String(),
    customerId: Opt(Type.String()),
    sourceId: Opt(Type.String()),
    channel: Opt(ChannelRef),
    brand: Opt(Type.String()),
    series: Opt(Type.String()),
    model: Opt(Type.String()),
    region: Opt(
      Type.Object({ province: Opt(Type.String()), city: Opt(Type.String()), adcode: Opt(Type.String()) }),
    ),
    status: Opt(LeadStatusSchema),
    statusSince: Opt(Instant),
    dealerId: Opt(Type.String()),
    agentId: Opt(Type.String()),
    teamId: Opt(Type.String()),
    queue: Opt(WorkQueueSchema),
    ownerSince: Opt(Instant),
    grade: Opt(Type.String()),
    initialGrade: Opt(Type.String()),
    score: Opt(Type.Number()),
    markers: Type.Object({
      duplicate: Type.Boolean({
        description: '重: a later lead of the same customer was merged into this one.',
      }),
      reactivated: Type.Boolean({ description: '激: reopened a defeated, invalid or archived history.' }),
      invalid: Type.Boolean({ description: '无效.' }),
      grabbed: Type.Boolean({ description: '抢: taken from the public pool.' }),
    }),
    reactivatedFrom: Opt(Type.String()),
    mergedInto: Opt(Type.String()),
    duplicateLeadIds: Type.Array(Type.String()),
    invalidReason: Opt(Type.String()),
    defeatReason: Opt(Type.String()),
    milestones: Type.Object(Object.fromEntries(MilestoneNames.map((name) => [name, Opt(Instant)]))),
    sla: Type.Object({
      outcome: literalUnion(SlaOutcomes),
      firstContactDueAt: Opt(Instant),
      firstContactMetAt: Opt(Instant),
      firstContactBreachedAt: Opt(Instant),
    }),
    lastEventAt: Opt(Instant),
  },
  { $id: 'LeadView', description: 'A lead snapshot (no personal data).' },
);
export type LeadView = Static<typeof LeadView>;

export const TimelineEntry = Type.Object({
  id: Type.String(),
  type: Type.String(),
  stage: Type.String(),
  occurredAt: Instant,
  /** When the business fact happened (the call, the visit), which may precede `occurredAt`. */
  at: Instant,
  dealerId: Opt(Type.String()),
  agentId: Opt(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown(), { description: 'The payload without personal data.' }),
});
export type TimelineEntry = Static<typeof TimelineEntry>;

const iso = (value: Date | undefined | null) => (value instanceof Date ? value.toISOString() : undefined);

function defined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined | null> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as {
    [K in keyof T]: Exclude<T[K], undefined | null>;
  };
}

export function toLeadView(lead: LeadSnapshot): LeadView {
  const milestones = Object.fromEntries(
    MilestoneNames.map((name) => [name, iso(lead.milestones?.[name])]).filter(([, v]) => v !== undefined),
  ) as LeadView['milestones'];
  const sla = lead.sla ?? {};
  return {
    ...defined({
      leadId: lead._id,
      oemId: lead.oemId,
      customerId: lead.customerId,
      sourceId: lead.sourceId,
      channel: lead.channel?.l1 === undefined ? undefined : lead.channel,
      brand: lead.brand,
      series: lead.series,
      model: lead.model,
      region: lead.region,
      status: lead.status,
      statusSince: iso(lead.statusSince),
      dealerId: lead.dealerId,
      agentId: lead.agentId,
      teamId: lead.teamId,
      queue: lead.queue,
      ownerSince: iso(lead.ownerSince),
      grade: lead.grade,
      initialGrade: lead.initialGrade,
      score: lead.score,
      reactivatedFrom: lead.reactivatedFrom,
      mergedInto: lead.mergedInto,
      invalidReason: lead.invalidReason,
      defeatReason: lead.defeatReason,
      lastEventAt: iso(lead.lastEventAt),
    }),
    leadId: lead._id,
    oemId: lead.oemId,
    markers: {
      duplicate: lead.markers?.duplicate === true,
      reactivated: lead.markers?.reactivated === true,
      invalid: lead.markers?.invalid === true,
      grabbed: lead.markers?.grabbed === true,
    },
    duplicateLeadIds: [...(lead.duplicateLeadIds ?? [])].sort(),
    milestones,
    sla: {
      outcome: slaOutcome(sla),
      ...defined({
        firstContactDueAt: iso(sla.firstContactDueAt),
        firstContactMetAt: iso(sla.firstContactMetAt),
        firstContactBreachedAt: iso(sla.firstContactBreachedAt),
      }),
    },
  };
}

export function toTimelineEntry(event: StoredEvent): TimelineEntry {
  return {
    id: event._id,
    type: event.type,
    stage: event.stage,
    occurredAt: event.occurredAt.toISOString(),
    at: event.at.toISOString(),
    ...defined({ dealerId: event.dealerId, agentId: event.agentId }),
    data: event.data,
  };
}
