import { createHash } from 'node:crypto';
import type { EnvelopeOf } from '@leadflow/contracts/events';
import { RetriableError, type MessageContext, type Publisher } from '@leadflow/platform/kafka';
import type { Counter } from 'prom-client';
import {
  decideDedup,
  identityKey,
  newCustomerId,
  type DedupDecision,
  type DedupRule,
  type MatchKey,
} from '../domain/dedup.js';
import { normaliseCustomer, type NormalisedLead } from '../domain/normalise.js';
import { outcomeEnvelope, outcomeEventId, type Outcome } from '../domain/outcome-events.js';
import { evaluateValidity, type ValidityResult, type ValidityRuleSet } from '../domain/validity.js';
import { matchVehicle, type VehicleCatalogue } from '../domain/vehicle-catalogue.js';
import { cachedPerOem } from './settings-cache.js';
import type { DedupRuleRepository } from '../repositories/dedup-rule.repository.js';
import type { LeadRepository } from '../repositories/lead.repository.js';
import {
  closedKeyOf,
  openKeyOf,
  type FiredRuleDoc,
  type LeadDoc,
  type VehicleDoc,
} from '../repositories/lead.schema.js';
import type { TouchpointRepository } from '../repositories/touchpoint.repository.js';
import type { TouchpointDoc } from '../repositories/touchpoint.schema.js';
import type { VehicleCatalogueRepository } from '../repositories/vehicle-catalogue.repository.js';

export interface LeadReceivedDeps {
  leads: LeadRepository;
  touchpoints: TouchpointRepository;
  rules: DedupRuleRepository;
  catalogues: VehicleCatalogueRepository;
  publisher: Publisher;
  /** The (prefixed) cleansing topic. */
  topic: string;
  customerKeySecret: string;
  validityRules: ValidityRuleSet;
  outcomes?: Counter<'outcome'>;
  /** How long an instance reuses an OEM's dedup rules and catalogue; default 2 s, 0 to read every time. */
  settingsTtlMs?: number;
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function mergedOutcome(touchpoint: TouchpointDoc): Outcome {
  return {
    kind: 'duplicated',
    openLeadId: touchpoint.openLeadId,
    customerId: touchpoint.customerId,
    decidedAt: touchpoint.decidedAt,
    matchedOn: touchpoint.matchedOn,
    dedupRuleId: touchpoint.dedupRuleId,
    ...outcomeVehicle(touchpoint.vehicle),
    ...(touchpoint.dealerId === undefined ? {} : { dealerId: touchpoint.dealerId }),
    ...(touchpoint.agentId === undefined ? {} : { agentId: touchpoint.agentId }),
  };
}

/** The recorded catalogue match as the outcome carries it (absent on records from before the catalogue). */
function outcomeVehicle(vehicle: VehicleDoc | undefined): { vehicle?: { series?: string; model?: string } } {
  if (vehicle === undefined) return {};
  return {
    vehicle: {
      ...(vehicle.series === undefined ? {} : { series: vehicle.series }),
      ...(vehicle.model === undefined ? {} : { model: vehicle.model }),
    },
  };
}

/** Re-derives the outcome recorded with a pool entry. */
export function leadOutcome(lead: LeadDoc): Outcome {
  const d = lead.decision;
  switch (d.kind) {
    case 'invalidated':
      return {
        kind: 'invalidated',
        decidedAt: d.decidedAt,
        reason: d.reason ?? 'other',
        ruleId: d.ruleId ?? 'unknown',
        detail: d.detail ?? '',
      };
    case 'reactivated':
      return {
        kind: 'reactivated',
        customerId: lead.customerId,
        decidedAt: d.decidedAt,
        dedupRuleId: d.dedupRuleId ?? 'unknown',
        reactivatedFrom: d.reactivatedFrom ?? 'unknown',
        previousStatus: d.previousStatus ?? 'archived',
        ...outcomeVehicle(lead.vehicle),
      };
    case 'cleansed':
      return {
        kind: 'cleansed',
        customerId: lead.customerId,
        decidedAt: d.decidedAt,
        dedupRuleId: d.dedupRuleId ?? 'unknown',
        ...outcomeVehicle(lead.vehicle),
      };
  }
}

function baseLeadDoc(
  envelope: EnvelopeOf<'lead.received'>,
  lead: NormalisedLead,
  customerId: string,
  decidedAt: Date,
): Omit<LeadDoc, 'status' | 'openKey' | 'decision' | 'markers' | 'rulesFired'> {
  const data = envelope.data;
  const { contact } = lead;
  const doc: Omit<LeadDoc, 'status' | 'openKey' | 'decision' | 'markers' | 'rulesFired'> = {
    _id: data.leadId,
    oemId: envelope.oemId,
    customerId,
    customerKey: data.customerKey,
    region: lead.region,
    channel: data.channel,
    sourceId: data.sourceId,
    receivedAt: new Date(data.receivedAt),
    createdAt: decidedAt,
    // A walk-in or showroom call stays with the dealer that captured it until allocation says otherwise.
    ...(data.showroom === undefined ? {} : { dealerId: data.showroom.dealerId }),
  };
  if (contact.mobileHash !== undefined) doc.mobileHash = contact.mobileHash;
  if (contact.emailHash !== undefined) doc.emailHash = contact.emailHash;
  if (contact.phoneHash !== undefined) doc.phoneHash = contact.phoneHash;
  if (contact.mobileMasked !== undefined) doc.mobileMasked = contact.mobileMasked;
  if (contact.emailMasked !== undefined) doc.emailMasked = contact.emailMasked;
  if (contact.phoneMasked !== undefined) doc.phoneMasked = contact.phoneMasked;
  return doc;
}

/** The hashes of the lead's contacts on the given match keys (those it has). */
export function ruleHashesOf(
  lead: NormalisedLead,
  matchKeys: readonly MatchKey[],
): Partial<Record<MatchKey, string>> {
  const contactHashes: Record<MatchKey, string | undefined> = {
    mobile: lead.contact.mobileHash,
    email: lead.contact.emailHash,
    phone: lead.contact.phoneHash,
  };
  const hashes: Partial<Record<MatchKey, string>> = {};
  for (const key of matchKeys) {
    const hash = contactHashes[key];
    if (hash !== undefined) hashes[key] = hash;
  }
  return hashes;
}

/** The validity rules that fired, as recorded with the lead. */
export const firedRulesOf = (validity: ValidityResult): FiredRuleDoc[] =>
  validity.fired.map((r) => ({ ruleId: r.ruleId, kind: r.kind, detail: r.detail }));

/** The catalogue match recorded with a valid lead; its rules are added to `fired`. */
export function vehicleOf(
  catalogue: VehicleCatalogue,
  intent: EnvelopeOf<'lead.received'>['data']['intent'],
  fired: FiredRuleDoc[],
): VehicleDoc {
  const match = matchVehicle(catalogue, intent);
  for (const r of match.fired) fired.push({ ruleId: r.ruleId, kind: 'catalogue', detail: r.detail });
  return {
    ...(match.series === undefined ? {} : { series: match.series }),
    ...(match.model === undefined ? {} : { model: match.model }),
    catalogueVersion: catalogue.version,
  };
}

/** The pool entry of an invalid lead (closed as invalid at once) and its outcome. */
export function invalidLead(
  envelope: EnvelopeOf<'lead.received'>,
  lead: NormalisedLead,
  validity: Extract<ValidityResult, { valid: false }>,
  fired: FiredRuleDoc[],
  decidedAt: Date,
): { doc: LeadDoc; outcome: Outcome } {
  const { oemId, data } = envelope;
  const identity =
    lead.contact.mobileHash === undefined
      ? undefined
      : { key: 'mobile' as const, hash: lead.contact.mobileHash };
  const doc: LeadDoc = {
    ...baseLeadDoc(envelope, lead, newCustomerId(oemId, identity, data.leadId, sha256), decidedAt),
    status: 'closed',
    openKey: closedKeyOf(data.leadId),
    closedAs: 'invalid',
    closedAt: decidedAt,
    markers: [],
    rulesFired: fired,
    decision: {
      kind: 'invalidated',
      eventId: outcomeEventId(data.leadId, 'invalidated'),
      decidedAt,
      reason: validity.reason,
      ruleId: validity.ruleId,
      detail: validity.detail,
    },
  };
  return {
    doc,
    outcome: {
      kind: 'invalidated',
      decidedAt,
      reason: validity.reason,
      ruleId: validity.ruleId,
      detail: validity.detail,
    },
  };
}

/** The new open pool entry of a cleansed or reactivated lead and its outcome. */
export function openLead(
  envelope: EnvelopeOf<'lead.received'>,
  lead: NormalisedLead,
  rule: DedupRule,
  decision: Exclude<DedupDecision, { kind: 'duplicate' }>,
  identity: { key: MatchKey; hash: string } | undefined,
  fired: readonly FiredRuleDoc[],
  vehicle: VehicleDoc,
  decidedAt: Date,
): { doc: LeadDoc; outcome: Outcome } {
  const { oemId, data } = envelope;
  const customerId =
    decision.kind === 'reactivated'
      ? decision.customerId
      : newCustomerId(oemId, identity, data.leadId, sha256);
  const outcome: Outcome =
    decision.kind === 'reactivated'
      ? {
          kind: 'reactivated',
          customerId,
          decidedAt,
          dedupRuleId: rule.id,
          reactivatedFrom: decision.reactivatedFrom,
          previousStatus: decision.previousStatus,
          ...outcomeVehicle(vehicle),
        }
      : { kind: 'cleansed', customerId, decidedAt, dedupRuleId: rule.id, ...outcomeVehicle(vehicle) };
  const dedupDetail =
    decision.kind === 'reactivated'
      ? `Reactivated from ${decision.reactivatedFrom} (${decision.previousStatus}), matched on ${decision.matchedOn}`
      : 'No open lead and no recent closed lead for the customer';
  const doc: LeadDoc = {
    ...baseLeadDoc(envelope, lead, customerId, decidedAt),
    status: 'open',
    openKey: identity === undefined ? closedKeyOf(data.leadId) : openKeyOf(oemId, identity.hash),
    markers: decision.kind === 'reactivated' ? ['reactivated'] : [],
    rulesFired: [...fired, { ruleId: rule.id, kind: 'dedup', detail: dedupDetail }],
    vehicle,
    decision: {
      kind: outcome.kind,
      eventId: outcomeEventId(data.leadId, outcome.kind),
      decidedAt,
      dedupRuleId: rule.id,
      ...(decision.kind === 'reactivated'
        ? {
            reactivatedFrom: decision.reactivatedFrom,
            previousStatus: decision.previousStatus,
            matchedOn: decision.matchedOn,
          }
        : {}),
    },
  };
  return { doc, outcome };
}

/** The touchpoint of a lead merged into the customer's open lead (its owner kept). */
export function touchpointOf(
  envelope: EnvelopeOf<'lead.received'>,
  open: Pick<LeadDoc, '_id' | 'customerId' | 'dealerId' | 'agentId'>,
  matchedOn: MatchKey,
  rule: DedupRule,
  vehicle: VehicleDoc,
  decidedAt: Date,
): TouchpointDoc {
  const { oemId, data } = envelope;
  return {
    _id: data.leadId,
    oemId,
    openLeadId: open._id,
    customerId: open.customerId,
    channel: data.channel,
    sourceId: data.sourceId,
    receivedAt: new Date(data.receivedAt),
    matchedOn,
    dedupRuleId: rule.id,
    decidedAt,
    vehicle,
    ...(open.dealerId === undefined ? {} : { dealerId: open.dealerId }),
    ...(open.agentId === undefined ? {} : { agentId: open.agentId }),
  };
}

/** How many times one message re-reads the state after losing a race before handing over to a retry. */
const MAX_ROUNDS = 8;

/**
 * Handles `lead.received`: normalise, validate, match, decide, record, then publish the outcome.
 *
 * Idempotency: the outcome is recorded before it is published and keyed by the lead id (the pool entry
 * `_id`, or a touchpoint guarded by `$ne`), so a redelivery finds it and re-publishes the same event id.
 * Serialisation: intake is keyed by customer, so one partition sees a customer's leads in order. The
 * backstop is the unique `openKey` of the pool entry: recording an open lead claims the customer in the
 * same insert, so two instances racing on one customer (a mis-keyed source, a rebalance) produce
 * exactly one open lead, and the loser merges into it. A crash can leave no claim without its lead.
 */
export function createLeadReceivedHandler(deps: LeadReceivedDeps) {
  async function publish(
    envelope: EnvelopeOf<'lead.received'>,
    lead: NormalisedLead,
    outcome: Outcome,
    ctx: MessageContext,
  ) {
    await deps.publisher.publish(deps.topic, outcomeEnvelope(envelope, lead, outcome));
    deps.outcomes?.inc({ outcome: outcome.kind });
    ctx.logger.info({ leadId: envelope.data.leadId, outcome: outcome.kind }, 'lead cleansed');
  }

  /** Publishes the outcome already recorded for the lead id, if any: the redelivery path. */
  async function republishRecorded(
    envelope: EnvelopeOf<'lead.received'>,
    lead: NormalisedLead,
    ctx: MessageContext,
    recordedOutcome: Promise<Outcome | undefined> = findRecorded(envelope),
  ) {
    const recorded = await recordedOutcome;
    if (recorded === undefined) return false;
    await publish(envelope, lead, recorded, ctx);
    return true;
  }

  /** The outcome recorded for the lead id: its pool entry or its touchpoint (both read at once). */
  async function findRecorded(envelope: EnvelopeOf<'lead.received'>): Promise<Outcome | undefined> {
    const { oemId, data } = envelope;
    const [own, merged] = await Promise.all([
      deps.leads.get(oemId, data.leadId),
      deps.touchpoints.get(oemId, data.leadId),
    ]);
    if (own !== undefined) return leadOutcome(own);
    return merged === undefined ? undefined : mergedOutcome(merged);
  }

  const ttl = deps.settingsTtlMs ?? 2_000;
  const rules = cachedPerOem(ttl, (oemId) => deps.rules.get(oemId));
  const catalogues = cachedPerOem(ttl, (oemId) => deps.catalogues.get(oemId));

  return async function handleLeadReceived(
    envelope: EnvelopeOf<'lead.received'>,
    ctx: MessageContext,
  ): Promise<void> {
    const { oemId } = envelope;
    const data = envelope.data;
    const lead = normaliseCustomer(data.customer, deps.customerKeySecret);

    const validity = evaluateValidity(lead, deps.validityRules);
    // The hot path reads in one round trip: the lead's own record (a redelivery), the OEM's settings
    // (cached) and the customer's candidates on the keys the OEM's rule matches on. Keys the rule does
    // not enable are never read: an email shared by thousands of unrelated leads would cost a large
    // read on every one of them.
    const recordedOutcome = findRecorded(envelope);
    const rulePromise = validity.valid ? rules(oemId) : undefined;
    const prefetch =
      rulePromise === undefined
        ? undefined
        : Promise.all([
            rulePromise,
            catalogues(oemId),
            rulePromise.then((rule) =>
              deps.leads.findCandidates(oemId, ruleHashesOf(lead, rule.matchKeys), data.leadId),
            ),
          ]);
    // Settle the prefetch even when the redelivery path returns first, so no rejection goes unhandled.
    prefetch?.catch(() => undefined);
    if (await republishRecorded(envelope, lead, ctx, recordedOutcome)) return;

    const decidedAt = new Date();
    const fired = firedRulesOf(validity);

    if (!validity.valid) {
      const { doc, outcome } = invalidLead(envelope, lead, validity, fired, decidedAt);
      if ((await deps.leads.insert(doc)) === 'exists') {
        await republishRecorded(envelope, lead, ctx);
        return;
      }
      await publish(envelope, lead, outcome, ctx);
      return;
    }

    if (prefetch === undefined) throw new Error('unreachable: valid leads prefetch their settings');
    const [rule, catalogue, firstCandidates] = await prefetch;
    const vehicle = vehicleOf(catalogue, data.intent, fired);
    const hashes = ruleHashesOf(lead, rule.matchKeys);
    const identity = identityKey(rule, hashes);
    const receivedAt = new Date(data.receivedAt);

    async function mergeInto(openLeadId: string, matchedOn: MatchKey): Promise<'done' | 'not_open'> {
      const open = await deps.leads.get(oemId, openLeadId);
      if (open === undefined) throw new RetriableError(`open lead ${openLeadId} is not recorded yet`);
      if (open.status !== 'open') return 'not_open';
      // Recorded now, or by an earlier delivery of this lead: either way the stored record is the truth.
      const touchpoint = await deps.touchpoints.record(
        touchpointOf(envelope, open, matchedOn, rule, vehicle, decidedAt),
      );
      await publish(envelope, lead, mergedOutcome(touchpoint), ctx);
      return 'done';
    }

    for (let round = 1; round <= MAX_ROUNDS; round += 1) {
      const candidates =
        round === 1 ? firstCandidates : await deps.leads.findCandidates(oemId, hashes, data.leadId);
      const decision = decideDedup(rule, receivedAt, candidates);
      if (decision.kind === 'duplicate') {
        if ((await mergeInto(decision.openLeadId, decision.matchedOn)) === 'done') return;
        continue;
      }
      const { doc, outcome } = openLead(envelope, lead, rule, decision, identity, fired, vehicle, decidedAt);
      const inserted = await deps.leads.insert(doc);
      if (inserted === 'exists') {
        await republishRecorded(envelope, lead, ctx);
        return;
      }
      if (inserted === 'taken') {
        // Another lead of the customer was recorded open since the candidates were read (another
        // instance, a mis-keyed source): this one is its duplicate, which the next round reads (the
        // holder carries the identity hash it was claimed with). Closed meanwhile → decided afresh.
        continue;
      }
      await publish(envelope, lead, outcome, ctx);
      return;
    }
    throw new RetriableError(`customer of ${data.leadId} kept changing while deciding; retrying`);
  };
}
