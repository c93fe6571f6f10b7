import type { ChannelRef } from '@leadflow/contracts/common';
import { makeEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import type { LeadSubmission } from './lead-submission.js';

export interface LeadReceivedInput {
  leadId: string;
  oemId: string;
  sourceId: string;
  channel: ChannelRef;
  receivedAt: Date;
  customerKey: string;
  submission: LeadSubmission;
  correlationId: string;
  /** The spreadsheet import job the lead came from, if any. */
  importJobId?: string;
  /** The channel's cost per lead (CNY), for media ROI downstream. */
  channelCostCny?: number;
}

/**
 * The event id is derived from the lead id, so every re-publish of an intake record (relay, client
 * retry) carries the same id and cleansing drops the repeats.
 */
export const receivedEventId = (leadId: string) => `${leadId}:received`;

/** Builds (and validates against the catalogue) the `lead.received` envelope of an accepted lead. */
export function buildLeadReceived(input: LeadReceivedInput): EnvelopeOf<'lead.received'> {
  const { submission } = input;
  return makeEnvelope('lead.received', {
    id: receivedEventId(input.leadId),
    oemId: input.oemId,
    correlationId: input.correlationId,
    occurredAt: input.receivedAt,
    data: {
      leadId: input.leadId,
      sourceId: input.sourceId,
      channel: input.channel,
      receivedAt: input.receivedAt.toISOString(),
      ...(submission.externalId === undefined ? {} : { externalId: submission.externalId }),
      ...(input.importJobId === undefined ? {} : { importJobId: input.importJobId }),
      ...(input.channelCostCny === undefined ? {} : { channelCostCny: input.channelCostCny }),
      customer: submission.customer,
      customerKey: input.customerKey,
      intent: submission.intent,
      ...(submission.showroom === undefined ? {} : { showroom: submission.showroom }),
      ...(submission.consent === undefined ? {} : { consent: submission.consent }),
      raw: submission.raw,
    },
  });
}
