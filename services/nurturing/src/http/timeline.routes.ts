import { Actor } from '@leadflow/contracts/common';
import { assertTenant, requirePrincipal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { LifecycleStatuses } from '../domain/lifecycle-rules.js';
import { literalUnion } from '@leadflow/contracts/common';
import type { TimelineRepository } from '../repositories/timeline.repository.js';

const TimelineItem = Type.Object({
  id: Type.String(),
  action: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Actor,
  dealerId: Type.String(),
  agentId: Type.Optional(Type.String()),
  statusBefore: literalUnion(LifecycleStatuses),
  statusAfter: literalUnion(LifecycleStatuses),
  summary: Type.Optional(Type.String()),
  eventTypes: Type.Array(Type.String()),
  eventIds: Type.Array(Type.String()),
});

const TimelineResponse = Type.Object({ leadId: Type.String(), items: Type.Array(TimelineItem) });

export function timelineRoutes(app: HttpApp, deps: { timeline: TimelineRepository }): void {
  app.get(
    '/v1/leads/:leadId/timeline',
    {
      schema: {
        tags: ['lifecycle'],
        summary: "Every action on the lead's lifecycle: what, who, when, status before and after",
        params: Type.Object({ leadId: Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' }) }),
        response: { 200: TimelineResponse, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const records = await deps.timeline.forLead({ oemId: principal.oemId, leadId });
      const latest = records.at(-1);
      if (latest === undefined) throw new AppError('not_found', 'Lead not found.');
      // Visible to the lead's current dealer (and its current agent), like the lead itself.
      assertTenant(principal, {
        oemId: latest.oemId,
        dealerId: latest.dealerId,
        ...(latest.agentId === undefined ? {} : { agentId: latest.agentId }),
      });
      return {
        leadId,
        items: records.map((r) => ({
          id: r._id,
          action: r.action,
          at: r.at.toISOString(),
          actor: { id: r.actor.id, role: r.actor.role },
          dealerId: r.dealerId,
          ...(r.agentId === undefined || r.agentId === null ? {} : { agentId: r.agentId }),
          statusBefore: r.statusBefore,
          statusAfter: r.statusAfter,
          ...(r.summary === undefined || r.summary === null ? {} : { summary: r.summary }),
          eventTypes: r.eventTypes,
          eventIds: r.eventIds,
        })),
      };
    },
  );
}
