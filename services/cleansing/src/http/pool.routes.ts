import {
  ChannelL2s,
  ChannelRef,
  InvalidReasonSchema,
  LeadMarkerSchema,
  Region,
  literalUnion,
} from '@leadflow/contracts/common';
import { requireRoles, requirePrincipal, type Role } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type, type Static } from '@sinclair/typebox';
import { keyedHash, normaliseMobile } from '../domain/normalise.js';
import type { LeadRepository } from '../repositories/lead.repository.js';
import type { LeadDoc } from '../repositories/lead.schema.js';
import type { TouchpointRepository } from '../repositories/touchpoint.repository.js';
import type { TouchpointDoc } from '../repositories/touchpoint.schema.js';

/** The pool is an OEM tool: dealers see their leads through allocation's work lists, never the pool. */
export const PoolRoles: Role[] = ['oem_admin', 'oem_operator', 'oem_call_center'];

const Timestamp = Type.String({ format: 'date-time' });
const MatchKeySchema = literalUnion(['mobile', 'email', 'phone'] as const);

const LeadSummary = Type.Object({
  leadId: Type.String(),
  customerId: Type.String(),
  status: literalUnion(['open', 'closed'] as const),
  closedAs: Type.Optional(literalUnion(['invalid', 'defeated', 'archived', 'won'] as const)),
  closedAt: Type.Optional(Timestamp),
  channel: ChannelRef,
  sourceId: Type.String(),
  receivedAt: Timestamp,
  dealerId: Type.Optional(
    Type.String({ description: 'Owning dealer (capturing dealer or last allocation).' }),
  ),
  agentId: Type.Optional(Type.String()),
  mobileMasked: Type.Optional(Type.String()),
  emailMasked: Type.Optional(Type.String()),
  phoneMasked: Type.Optional(Type.String()),
  region: Type.Composite([Region, Type.Object({ county: Type.Optional(Type.String()) })]),
  markers: Type.Array(LeadMarkerSchema),
  duplicateCount: Type.Integer({ minimum: 0 }),
});

const Vehicle = Type.Object({
  series: Type.Optional(Type.String({ description: 'Catalogue series code, or the text as received.' })),
  model: Type.Optional(Type.String({ description: 'Catalogue model code, or the text as received.' })),
  catalogueVersion: Type.Integer({ minimum: 0 }),
});

const LeadDetail = Type.Composite([
  LeadSummary,
  Type.Object({
    touchpoints: Type.Array(
      Type.Object({
        leadId: Type.String(),
        channel: ChannelRef,
        sourceId: Type.String(),
        receivedAt: Timestamp,
        matchedOn: Type.Optional(MatchKeySchema),
        vehicle: Type.Optional(Vehicle),
      }),
    ),
    vehicle: Type.Optional(Vehicle),
    rulesFired: Type.Array(
      Type.Object({ ruleId: Type.String(), kind: Type.String(), detail: Type.String() }),
    ),
    decision: Type.Object({
      kind: literalUnion(['cleansed', 'reactivated', 'invalidated'] as const),
      eventId: Type.String(),
      decidedAt: Timestamp,
      dedupRuleId: Type.Optional(Type.String()),
      matchedOn: Type.Optional(MatchKeySchema),
      reactivatedFrom: Type.Optional(Type.String()),
      previousStatus: Type.Optional(literalUnion(['invalid', 'defeated', 'archived'] as const)),
      reason: Type.Optional(InvalidReasonSchema),
      ruleId: Type.Optional(Type.String()),
      detail: Type.Optional(Type.String()),
    }),
  }),
]);

const PoolQuery = Type.Object(
  {
    mobile: Type.Optional(
      Type.String({ minLength: 1, maxLength: 32, description: 'Exact mobile, any common notation.' }),
    ),
    status: Type.Optional(literalUnion(['open', 'closed'] as const)),
    dealerId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' })),
    channelL2: Type.Optional(literalUnion(ChannelL2s)),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'receivedAt >= from' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'receivedAt < to' })),
    page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);

const PoolPage = Type.Object({
  items: Type.Array(LeadSummary),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  total: Type.Integer(),
});

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

const iso = (date: Date | undefined) => (date === undefined ? undefined : new Date(date).toISOString());

function summary(doc: LeadDoc, duplicateCount: number): Static<typeof LeadSummary> {
  const markers =
    duplicateCount > 0 && !doc.markers.includes('duplicate')
      ? [...doc.markers, 'duplicate' as const]
      : doc.markers;
  const out: Static<typeof LeadSummary> = {
    leadId: doc._id,
    customerId: doc.customerId,
    status: doc.status,
    channel: doc.channel,
    sourceId: doc.sourceId,
    receivedAt: new Date(doc.receivedAt).toISOString(),
    // Invalid leads can be stored before normalisation produced a region: render them with none.
    region: { ...doc.region },
    markers,
    duplicateCount,
  };
  if (doc.closedAs !== undefined) out.closedAs = doc.closedAs;
  if (doc.dealerId !== undefined) out.dealerId = doc.dealerId;
  if (doc.agentId !== undefined) out.agentId = doc.agentId;
  const closedAt = iso(doc.closedAt);
  if (closedAt !== undefined) out.closedAt = closedAt;
  if (doc.mobileMasked !== undefined) out.mobileMasked = doc.mobileMasked;
  if (doc.emailMasked !== undefined) out.emailMasked = doc.emailMasked;
  if (doc.phoneMasked !== undefined) out.phoneMasked = doc.phoneMasked;
  return out;
}

function detail(doc: LeadDoc, merged: readonly TouchpointDoc[]): Static<typeof LeadDetail> {
  const { decision } = doc;
  return {
    ...summary(doc, merged.length),
    // The lead's own intake is its first touchpoint; merged duplicates follow in arrival order.
    touchpoints: [
      {
        leadId: doc._id,
        channel: doc.channel,
        sourceId: doc.sourceId,
        receivedAt: new Date(doc.receivedAt).toISOString(),
      },
      ...merged.map((t) => ({
        leadId: t._id,
        channel: t.channel,
        sourceId: t.sourceId,
        receivedAt: new Date(t.receivedAt).toISOString(),
        matchedOn: t.matchedOn,
        ...(t.vehicle === undefined ? {} : { vehicle: t.vehicle }),
      })),
    ],
    ...(doc.vehicle === undefined ? {} : { vehicle: doc.vehicle }),
    rulesFired: doc.rulesFired,
    decision: {
      kind: decision.kind,
      eventId: decision.eventId,
      decidedAt: new Date(decision.decidedAt).toISOString(),
      ...(decision.dedupRuleId === undefined ? {} : { dedupRuleId: decision.dedupRuleId }),
      ...(decision.matchedOn === undefined ? {} : { matchedOn: decision.matchedOn }),
      ...(decision.reactivatedFrom === undefined ? {} : { reactivatedFrom: decision.reactivatedFrom }),
      ...(decision.previousStatus === undefined ? {} : { previousStatus: decision.previousStatus }),
      ...(decision.reason === undefined ? {} : { reason: decision.reason }),
      ...(decision.ruleId === undefined ? {} : { ruleId: decision.ruleId }),
      ...(decision.detail === undefined ? {} : { detail: decision.detail }),
    },
  };
}

export interface PoolRoutesDeps {
  leads: LeadRepository;
  touchpoints: TouchpointRepository;
  customerKeySecret: string;
}

/** Lead pool search and detail for OEM operators. */
export function poolRoutes(app: HttpApp, deps: PoolRoutesDeps): void {
  app.get(
    '/v1/pool/leads',
    {
      preHandler: requireRoles(...PoolRoles),
      schema: {
        tags: ['pool'],
        summary: 'Search the lead pool (mobile matched exactly through its keyed hash)',
        querystring: PoolQuery,
        response: { 200: PoolPage, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const q = request.query;
      let mobileHash: string | undefined;
      if (q.mobile !== undefined) {
        const mobile = normaliseMobile(q.mobile);
        if (!mobile.ok) {
          throw new AppError('validation', 'mobile is not a valid mobile number.', {
            errors: [{ path: '/querystring/mobile', message: mobile.problem }],
          });
        }
        mobileHash = keyedHash(deps.customerKeySecret, mobile.e164);
      }
      const from = q.from === undefined ? undefined : new Date(q.from);
      const to = q.to === undefined ? undefined : new Date(q.to);
      if (from !== undefined && to !== undefined && from >= to) {
        throw new AppError('validation', '`from` must be before `to`.', {
          errors: [{ path: '/querystring/from', message: 'must be before to' }],
        });
      }
      const { items, total } = await deps.leads.search(principal.oemId, {
        ...(mobileHash === undefined ? {} : { mobileHash }),
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.dealerId === undefined ? {} : { dealerId: q.dealerId }),
        ...(q.channelL2 === undefined ? {} : { channelL2: q.channelL2 }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        page: q.page,
        pageSize: q.pageSize,
      });
      const counts = await deps.touchpoints.countFor(
        principal.oemId,
        items.map((i) => i._id),
      );
      return {
        items: items.map((i) => summary(i, counts.get(i._id) ?? 0)),
        page: q.page,
        pageSize: q.pageSize,
        total,
      };
    },
  );

  app.get(
    '/v1/pool/leads/:leadId',
    {
      preHandler: requireRoles(...PoolRoles),
      schema: {
        tags: ['pool'],
        summary: 'One pool lead with its touchpoints, markers and the rules that fired',
        params: Type.Object({ leadId: Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' }) }),
        response: { 200: LeadDetail, 404: ProblemSchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      // Scoped by the caller's OEM in the query itself: another OEM's lead is simply not found.
      const lead = await deps.leads.get(principal.oemId, request.params.leadId);
      if (lead === undefined) throw new AppError('not_found', 'Lead not found.');
      return detail(lead, await deps.touchpoints.listFor(principal.oemId, lead._id));
    },
  );
}
