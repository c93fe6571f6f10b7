import { makeEnvelope, type EnvelopeOf, type PayloadOf } from '@leadflow/contracts/events';
import type { InvalidReason, LeadMarker } from '@leadflow/contracts/common';
import type { MatchKey } from './dedup.js';
import type { NormalisedLead } from './normalise.js';

// Outcome events are derived from the lead.received being handled plus the recorded decision, never
// from "now": a redelivery rebuilds the same event (same id, same occurredAt, same body), which is what
// lets downstream consumers drop the re-publish as already seen.

/** Series and model as the catalogue matched them when the decision was recorded. */
export interface OutcomeVehicle {
  series?: string;
  model?: string;
}

export type Outcome =
  | {
      kind: 'cleansed';
      customerId: string;
      decidedAt: Date;
      dedupRuleId: string;
      vehicle?: OutcomeVehicle;
    }
  | {
      kind: 'reactivated';
      customerId: string;
      decidedAt: Date;
      dedupRuleId: string;
      reactivatedFrom: string;
      previousStatus: 'invalid' | 'defeated' | 'archived';
      vehicle?: OutcomeVehicle;
    }
  | {
      kind: 'duplicated';
      openLeadId: string;
      customerId: string;
      decidedAt: Date;
      dedupRuleId?: string;
      matchedOn: MatchKey;
      vehicle?: OutcomeVehicle;
      /** The open lead's owner, who keeps the customer. */
      dealerId?: string;
      agentId?: string;
    }
  | {
      kind: 'invalidated';
      decidedAt: Date;
      reason: InvalidReason;
      ruleId: string;
      detail: string;
    };

export type OutcomeEnvelope =
  | EnvelopeOf<'lead.cleansed'>
  | EnvelopeOf<'lead.reactivated'>
  | EnvelopeOf<'lead.duplicated'>
  | EnvelopeOf<'lead.invalidated'>;

/** Deterministic event id of a lead's cleansing outcome: one outcome per lead id, ever. */
export const outcomeEventId = (leadId: string, kind: Outcome['kind']) => `${leadId}:${kind}`;

type ContactPayload = PayloadOf<'lead.cleansed'>['contact'];

function contactPayload(lead: NormalisedLead): ContactPayload {
  const out: ContactPayload = {};
  for (const [key, value] of Object.entries(lead.contact) as [keyof ContactPayload, string | undefined][]) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

type IntentPayload = PayloadOf<'lead.cleansed'>['intent'];

/** The received intent with series and model replaced by the recorded catalogue match. */
function intentWith(intent: IntentPayload, vehicle: OutcomeVehicle | undefined): IntentPayload {
  if (vehicle === undefined) return intent;
  const { series: _series, model: _model, ...rest } = intent;
  return {
    ...rest,
    ...(vehicle.series === undefined ? {} : { series: vehicle.series.slice(0, 100) }),
    ...(vehicle.model === undefined ? {} : { model: vehicle.model.slice(0, 100) }),
  };
}

function contractRegion(region: NormalisedLead['region']): PayloadOf<'lead.cleansed'>['region'] {
  const { county: _county, ...rest } = region;
  return rest;
}

/** Builds (and validates against the catalogue) the event announcing a recorded outcome. */
export function outcomeEnvelope(
  received: EnvelopeOf<'lead.received'>,
  lead: NormalisedLead,
  outcome: Outcome,
): OutcomeEnvelope {
  const data = received.data;
  const header = {
    id: outcomeEventId(data.leadId, outcome.kind),
    oemId: received.oemId,
    correlationId: received.correlationId,
    causationId: received.id,
    occurredAt: outcome.decidedAt,
  };

  switch (outcome.kind) {
    case 'invalidated':
      return makeEnvelope('lead.invalidated', {
        ...header,
        data: {
          leadId: data.leadId,
          customerKey: data.customerKey,
          sourceId: data.sourceId,
          channel: data.channel,
          receivedAt: data.receivedAt,
          reason: outcome.reason,
          ruleId: outcome.ruleId,
          detail: outcome.detail,
          ...(data.showroom === undefined ? {} : { dealerId: data.showroom.dealerId }),
        },
      });
    case 'duplicated':
      return makeEnvelope('lead.duplicated', {
        ...header,
        data: {
          leadId: data.leadId,
          openLeadId: outcome.openLeadId,
          customerId: outcome.customerId,
          customerKey: data.customerKey,
          sourceId: data.sourceId,
          channel: data.channel,
          receivedAt: data.receivedAt,
          matchedOn: outcome.matchedOn,
          ...(outcome.dedupRuleId === undefined ? {} : { dedupRuleId: outcome.dedupRuleId }),
          ...(outcome.dealerId === undefined ? {} : { dealerId: outcome.dealerId }),
          ...(outcome.agentId === undefined ? {} : { agentId: outcome.agentId }),
          intent: intentWith(data.intent, outcome.vehicle),
        },
      });
    case 'cleansed':
    case 'reactivated': {
      const markers: LeadMarker[] = outcome.kind === 'reactivated' ? ['reactivated'] : [];
      const customer: PayloadOf<'lead.cleansed'>['customer'] = {};
      if (lead.name !== undefined) customer.name = lead.name;
      if (data.customer.gender !== undefined) customer.gender = data.customer.gender;
      const body = {
        leadId: data.leadId,
        customerId: outcome.customerId,
        customerKey: data.customerKey,
        sourceId: data.sourceId,
        channel: data.channel,
        receivedAt: data.receivedAt,
        customer,
        contact: contactPayload(lead),
        // The contract's Region has no county (its adcode is county-precise); the pool keeps the name.
        region: contractRegion(lead.region),
        intent: intentWith(data.intent, outcome.vehicle),
        markers,
        ...(data.showroom === undefined ? {} : { showroom: data.showroom }),
        ...(data.consent === undefined ? {} : { consent: data.consent }),
        dedupRuleId: outcome.dedupRuleId,
      };
      if (outcome.kind === 'cleansed') return makeEnvelope('lead.cleansed', { ...header, data: body });
      return makeEnvelope('lead.reactivated', {
        ...header,
        data: { ...body, reactivatedFrom: outcome.reactivatedFrom, previousStatus: outcome.previousStatus },
      });
    }
  }
}
