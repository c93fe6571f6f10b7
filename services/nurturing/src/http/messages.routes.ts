import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import type { ContactRepository } from '../repositories/contact.repository.js';
import type { MessageRepository } from '../repositories/message.repository.js';
import type { LifecycleClient } from '../temporal/lifecycle-client.js';
import { ActingRoles, authorisedState, LeadParams } from './lead-access.js';

const MessageItem = Type.Object({
  messageId: Type.String(),
  channel: Type.String(),
  provider: Type.String(),
  recipient: Type.String(),
  recipientId: Type.Optional(Type.String()),
  recipientMasked: Type.Optional(Type.String()),
  template: Type.String(),
  purpose: Type.String(),
  locale: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  errorCode: Type.Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Type.Optional(Type.String({ format: 'date-time' })),
});

const errors = { 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/** The lead's outbound messages (status, channel, masked address) and the customer's opt-out. */
export function messagesRoutes(
  app: HttpApp,
  deps: { lifecycle: LifecycleClient; contacts: ContactRepository; messages: MessageRepository },
): void {
  app.get(
    '/v1/leads/:leadId/messages',
    {
      schema: {
        tags: ['messages'],
        summary: "The lead's outbound messages: what went to whom, when, and how it ended",
        params: LeadParams,
        response: { 200: Type.Object({ leadId: Type.String(), items: Type.Array(MessageItem) }), ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const state = await authorisedState(deps.lifecycle, principal, leadId);
      const records = await deps.messages.forLead({ oemId: state.oemId, leadId });
      return {
        leadId,
        items: records.map((r) => ({
          messageId: r._id,
          channel: r.channel,
          provider: r.provider,
          recipient: r.recipient,
          ...(r.recipientId == null ? {} : { recipientId: r.recipientId }),
          ...(r.recipientMasked == null ? {} : { recipientMasked: r.recipientMasked }),
          template: r.template,
          purpose: r.purpose,
          locale: r.locale,
          status: r.status,
          attempts: r.attempts,
          ...(r.errorCode == null ? {} : { errorCode: r.errorCode }),
          createdAt: r.createdAt.toISOString(),
          ...(r.sentAt == null ? {} : { sentAt: r.sentAt.toISOString() }),
        })),
      };
    },
  );

  app.post(
    '/v1/leads/:leadId/opt-out',
    {
      preHandler: requireRoles(...ActingRoles),
      schema: {
        tags: ['messages'],
        summary: 'Record that the customer wants no more messages (all of their leads in the OEM)',
        params: LeadParams,
        response: { 200: Type.Object({ leadId: Type.String(), optedOut: Type.Boolean() }), ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const state = await authorisedState(deps.lifecycle, principal, leadId);
      if (!(await deps.contacts.optOut({ oemId: state.oemId, leadId }, new Date())))
        throw new AppError('not_found', 'No contact details are known for this lead.');
      return { leadId, optedOut: true };
    },
  );
}
