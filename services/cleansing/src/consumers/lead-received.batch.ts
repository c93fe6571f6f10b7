import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { BatchContext } from '@leadflow/platform/kafka';
import {
  decideDedup,
  identityKey,
  type DedupCandidate,
  type DedupRule,
  type MatchKey,
} from '../domain/dedup.js';
import { normaliseCustomer, type NormalisedLead } from '../domain/normalise.js';
import { outcomeEnvelope, type Outcome, type OutcomeEnvelope } from '../domain/outcome-events.js';
import { evaluateValidity } from '../domain/validity.js';
import type { VehicleCatalogue } from '../domain/vehicle-catalogue.js';
import { MAX_CANDIDATES_PER_KEY, type PoolRow } from '../repositories/lead.repository.js';
import type { LeadDoc } from '../repositories/lead.schema.js';
import type { TouchpointDoc } from '../repositories/touchpoint.schema.js';
import {
  firedRulesOf,
  invalidLead,
  leadOutcome,
  mergedOutcome,
  openLead,
  ruleHashesOf,
  touchpointOf,
  vehicleOf,
  type LeadReceivedDeps,
} from './lead-received.consumer.js';
import { cachedPerOem } from './settings-cache.js';

const HASH_FIELD = { mobile: 'mobileHash', email: 'emailHash', phone: 'phoneHash' } as const;

/** Newest first, then by id: the order `findCandidates` reads a customer's entries in. */
const newestFirst = (a: PoolRow, b: PoolRow) =>
  b.receivedAt.getTime() - a.receivedAt.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

/**
 * The pool as the batch sees it: what the bulk read found, plus what the batch decided so far, by
 * (match key, hash). Leads are decided against it in partition order, so the second lead of a
 * customer in one batch sees the first exactly as it would have found it in the database one by one.
 */
class BatchPool {
  private readonly rows = new Map<string, PoolRow[]>();
  private readonly byId = new Map<string, PoolRow>();

  constructor(found: readonly PoolRow[]) {
    for (const row of found) this.add(row);
  }

  add(row: PoolRow) {
    this.byId.set(row._id, row);
    for (const key of Object.keys(HASH_FIELD) as MatchKey[]) {
      const hash = row[HASH_FIELD[key]];
      if (hash === undefined) continue;
      const slot = `${key}:${hash}`;
      const list = this.rows.get(slot);
      if (list === undefined) this.rows.set(slot, [row]);
      else list.push(row);
    }
  }

  /** The same candidates `LeadRepository.findCandidates` returns for these hashes. */
  candidates(
    oemId: string,
    hashes: Partial<Record<MatchKey, string>>,
    excludeLeadId: string,
  ): DedupCandidate[] {
    const out: DedupCandidate[] = [];
    for (const [key, hash] of Object.entries(hashes) as [MatchKey, string | undefined][]) {
      if (hash === undefined) continue;
      const rows = (this.rows.get(`${key}:${hash}`) ?? [])
        .filter((row) => row.oemId === oemId)
        .sort(newestFirst)
        .slice(0, MAX_CANDIDATES_PER_KEY);
      for (const row of rows) {
        if (row._id === excludeLeadId) continue;
        out.push({
          leadId: row._id,
          customerId: row.customerId,
          status: row.status,
          ...(row.closedAs === undefined ? {} : { closedAs: row.closedAs }),
          ...(row.closedAt === undefined ? {} : { closedAt: row.closedAt }),
          receivedAt: row.receivedAt,
          matchedOn: key,
        });
      }
    }
    return out;
  }

  row(oemId: string, leadId: string): PoolRow | undefined {
    const row = this.byId.get(leadId);
    return row?.oemId === oemId ? row : undefined;
  }
}

const poolRowOf = (doc: LeadDoc): PoolRow => ({
  _id: doc._id,
  oemId: doc.oemId,
  customerId: doc.customerId,
  status: doc.status,
  receivedAt: doc.receivedAt,
  ...(doc.closedAs === undefined ? {} : { closedAs: doc.closedAs }),
  ...(doc.closedAt === undefined ? {} : { closedAt: doc.closedAt }),
  ...(doc.dealerId === undefined ? {} : { dealerId: doc.dealerId }),
  ...(doc.agentId === undefined ? {} : { agentId: doc.agentId }),
  ...(doc.mobileHash === undefined ? {} : { mobileHash: doc.mobileHash }),
  ...(doc.emailHash === undefined ? {} : { emailHash: doc.emailHash }),
  ...(doc.phoneHash === undefined ? {} : { phoneHash: doc.phoneHash }),
});

interface Prepared {
  envelope: EnvelopeOf<'lead.received'>;
  lead: NormalisedLead;
  validity: ReturnType<typeof evaluateValidity>;
}

/**
 * `lead.received` in batches (the platform consumer's batch mode): one chunk of one intake partition,
 * in offset order. Per chunk, whatever its size:
 *
 * 1. one round of parallel reads: the leads' own records by id in `leads` and in `touchpoints` (a
 *    redelivery), and the pool entries carrying any of the chunk's hashes, one `$in` per match key
 *    some OEM of the chunk enables (settings are cached per OEM);
 * 2. the decisions in memory, in partition order, each lead against the pool read plus what the chunk
 *    decided before it (two leads of one customer in one chunk: the second is the first's duplicate,
 *    exactly as one by one); a lead already recorded, or repeated in the chunk, re-publishes its
 *    recorded decision (same event id and body);
 * 3. one ordered `insertMany` of the new pool entries, then one of the touchpoints (at the same time
 *    when none of them merges into a lead of this chunk);
 * 4. the chunk's outcome events in one publish (the group-committing publisher), in order.
 *
 * Any failure (an open-lead key taken by another instance since the read, a lead recorded meanwhile,
 * a write or publish error) throws: the consumer then re-runs the chunk one lead at a time through the
 * per-message handler, which finds whatever this attempt recorded and re-publishes it, and resolves
 * races through the unique open-lead key as before. Nothing is published before everything is
 * recorded, so a crash at any point leaves only records that a redelivery re-publishes as they are.
 */
export function createLeadReceivedBatchHandler(deps: LeadReceivedDeps) {
  const ttl = deps.settingsTtlMs ?? 2_000;
  const rules = cachedPerOem(ttl, (oemId) => deps.rules.get(oemId));
  const catalogues = cachedPerOem(ttl, (oemId) => deps.catalogues.get(oemId));

  return async function handleLeadReceivedBatch(
    envelopes: readonly EnvelopeOf<'lead.received'>[],
    ctx: Pick<BatchContext, 'logger'>,
  ): Promise<void> {
    if (envelopes.length === 0) return;
    const prepared: Prepared[] = envelopes.map((envelope) => {
      const lead = normaliseCustomer(envelope.data.customer, deps.customerKeySecret);
      return { envelope, lead, validity: evaluateValidity(lead, deps.validityRules) };
    });
    const leadIds = prepared.map((p) => p.envelope.data.leadId);
    const ownRead = deps.leads.getMany(leadIds);
    const mergedRead = deps.touchpoints.getMany(leadIds);
    // Settled even if a later step throws first, so no rejection goes unhandled.
    ownRead.catch(() => undefined);
    mergedRead.catch(() => undefined);

    const validOems = [...new Set(prepared.filter((p) => p.validity.valid).map((p) => p.envelope.oemId))];
    const settings = new Map<string, { rule: DedupRule; catalogue: VehicleCatalogue }>();
    await Promise.all(
      validOems.map(async (oemId) => {
        const [rule, catalogue] = await Promise.all([rules(oemId), catalogues(oemId)]);
        settings.set(oemId, { rule, catalogue });
      }),
    );
    const settingsOf = (oemId: string) => {
      const s = settings.get(oemId);
      if (s === undefined) throw new Error(`unreachable: no settings read for ${oemId}`);
      return s;
    };

    // Only the keys each lead's OEM matches on are read, as one by one.
    const wanted: Partial<Record<MatchKey, string[]>> = {};
    for (const p of prepared) {
      if (!p.validity.valid) continue;
      const hashes = ruleHashesOf(p.lead, settingsOf(p.envelope.oemId).rule.matchKeys);
      for (const [key, hash] of Object.entries(hashes) as [MatchKey, string][]) {
        (wanted[key] ??= []).push(hash);
      }
    }
    const [own, merged, found] = await Promise.all([ownRead, mergedRead, deps.leads.findByHashes(wanted)]);

    const recorded = new Map<string, Outcome>();
    const tenantOf = new Map(prepared.map((p) => [p.envelope.data.leadId, p.envelope.oemId]));
    for (const doc of merged) {
      if (tenantOf.get(doc._id) === doc.oemId) recorded.set(doc._id, mergedOutcome(doc));
    }
    for (const doc of own) {
      if (tenantOf.get(doc._id) === doc.oemId) recorded.set(doc._id, leadOutcome(doc));
    }

    const pool = new BatchPool(found);
    const decidedAt = new Date();
    const newLeads: LeadDoc[] = [];
    const newTouchpoints: TouchpointDoc[] = [];
    const newLeadIds = new Set<string>();
    let mergesIntoChunk = false;
    const events: OutcomeEnvelope[] = [];
    const kinds: Partial<Record<Outcome['kind'], number>> = {};
    const emit = (p: Prepared, outcome: Outcome) => {
      events.push(outcomeEnvelope(p.envelope, p.lead, outcome));
      kinds[outcome.kind] = (kinds[outcome.kind] ?? 0) + 1;
    };

    for (const p of prepared) {
      const { envelope, lead, validity } = p;
      const { oemId, data } = envelope;
      // Recorded by an earlier delivery, or decided earlier in this chunk (the same lead sent twice).
      const before = recorded.get(data.leadId);
      if (before !== undefined) {
        emit(p, before);
        continue;
      }
      const fired = firedRulesOf(validity);
      if (!validity.valid) {
        const { doc, outcome } = invalidLead(envelope, lead, validity, fired, decidedAt);
        newLeads.push(doc);
        newLeadIds.add(doc._id);
        pool.add(poolRowOf(doc));
        recorded.set(data.leadId, outcome);
        emit(p, outcome);
        continue;
      }
      const { rule, catalogue } = settingsOf(oemId);
      const vehicle = vehicleOf(catalogue, data.intent, fired);
      const hashes = ruleHashesOf(lead, rule.matchKeys);
      const decision = decideDedup(
        rule,
        new Date(data.receivedAt),
        pool.candidates(oemId, hashes, data.leadId),
      );
      if (decision.kind === 'duplicate') {
        const open = pool.row(oemId, decision.openLeadId);
        if (open === undefined)
          throw new Error(`unreachable: open lead ${decision.openLeadId} not in the batch pool`);
        const touchpoint = touchpointOf(envelope, open, decision.matchedOn, rule, vehicle, decidedAt);
        newTouchpoints.push(touchpoint);
        if (newLeadIds.has(open._id)) mergesIntoChunk = true;
        const outcome = mergedOutcome(touchpoint);
        recorded.set(data.leadId, outcome);
        emit(p, outcome);
        continue;
      }
      const identity = identityKey(rule, hashes);
      const { doc, outcome } = openLead(envelope, lead, rule, decision, identity, fired, vehicle, decidedAt);
      newLeads.push(doc);
      newLeadIds.add(doc._id);
      pool.add(poolRowOf(doc));
      recorded.set(data.leadId, outcome);
      emit(p, outcome);
    }

    // A touchpoint is written only once the lead it merges into is: if the pool entries' write fails
    // half-way, no touchpoint points at an entry that was never recorded.
    if (mergesIntoChunk) {
      await deps.leads.insertMany(newLeads);
      await deps.touchpoints.insertMany(newTouchpoints);
    } else {
      await Promise.all([deps.leads.insertMany(newLeads), deps.touchpoints.insertMany(newTouchpoints)]);
    }
    await deps.publisher.publish(deps.topic, events);
    for (const [kind, n] of Object.entries(kinds)) deps.outcomes?.inc({ outcome: kind }, n);
    ctx.logger.info(
      { leads: envelopes.length, inserted: newLeads.length, merged: newTouchpoints.length, outcomes: kinds },
      'leads cleansed (batch)',
    );
  };
}
