import { createHash } from 'node:crypto';
import type { ChannelRef } from '@leadflow/contracts/common';
import { EnvelopeValidationError } from '@leadflow/contracts/events';
import { principalKey, scopeLevel, type Principal } from '@leadflow/platform/auth';
import { AppError, requestFingerprint, type FieldError } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import {
  checkChannel,
  ChannelRejections,
  resolveChannelId,
  type ChannelDecision,
} from '../domain/channel-rules.js';
import { customerKey } from '../domain/customer-key.js';
import { newLeadId } from '../domain/lead-id.js';
import { buildLeadReceived } from '../domain/lead-received.js';
import { parseLeadSubmission, type LeadSubmission } from '../domain/lead-submission.js';
import type { RateWindow } from '../domain/rate-window.js';
import type { ChannelRepository } from '../repositories/channel.repository.js';
import type {
  IntakeRecord,
  IntakeRecordRepository,
  SingleOutcome,
} from '../repositories/intake-record.repository.js';
import type { Source, SourceRepository } from '../repositories/source.repository.js';
import { noTimings, type IntakeTimings } from './intake-timings.js';
import { rememberEnvelope, type PublishRecords } from './publish-intake.js';

export interface IntakeDeps {
  channels: ChannelRepository;
  sources: SourceRepository;
  records: IntakeRecordRepository;
  publish: PublishRecords;
  rateWindow: RateWindow;
  customerKeySecret: string;
  /** How long the writer of a record owns its publish (PUBLISH_LEASE_MS). */
  leaseMs: number;
  logger: Logger;
  now?: () => Date;
  timings?: IntakeTimings;
}

/** Who is submitting: the authenticated principal and request-level facts. */
export interface Caller {
  principal: Principal;
  correlationId: string;
  /** The `Idempotency-Key` header, if sent. */
  idempotencyKey?: string | undefined;
}

export interface SubmitOutcome {
  leadId: string;
  receivedAt: string;
  duplicate: boolean;
}

export const BatchItemStatuses = ['accepted', 'duplicate', 'rejected'] as const;
export type BatchItemStatus = (typeof BatchItemStatuses)[number];

export interface BatchItemResult {
  index: number;
  status: BatchItemStatus;
  leadId?: string;
  errors?: FieldError[];
  /**
   * A duplicate found by this very item's idempotency key: a retry of the same item, not another
   * lead of the same customer. Import jobs count such rows as accepted (internal; not serialised).
   */
  replay?: boolean;
}

/** How a batch is keyed and attributed when it is not an HTTP request (spreadsheet import jobs). */
export interface BatchOptions {
  /** Stamped on every `lead.received` of the batch. */
  importJobId?: string;
  /** The idempotency key of item `i`, instead of `<Idempotency-Key>#i`. */
  itemKey?: (index: number) => string;
  /** The per-source rate limit guards live intake; an import job paces itself. */
  skipRateLimit?: boolean;
  /** Error paths of item `i` start with `prefix(i)` instead of `/body/leads/<i>`. */
  prefix?: (index: number) => string;
}

/** The source a lead is attributed to, and what it may do. */
interface Sender {
  sourceId: string;
  source?: Source;
  /** Dealer staff capture for their own dealer only. */
  staffDealerId?: string;
}

const POLL_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Dealer staff (people, not machines, scoped below the OEM) capture leads for their own dealer. */
function staffDealerOf(principal: Principal): string | undefined {
  return principal.kind === 'user' && scopeLevel(principal) !== 'oem' ? principal.dealerId : undefined;
}

/** A stable source id for JWT callers that submit without naming a registered source. */
export function principalSourceId(principal: Principal): string {
  const id = `${principal.kind}:${principal.sub}`;
  return id.length <= 100 && !/\s/.test(id)
    ? id
    : `${principal.kind}:${createHash('sha256').update(principal.sub).digest('hex').slice(0, 40)}`;
}

/**
 * The dedup keys as stored: a hash of `(oem, source, externalId)` / `(principal, scope, key)`, or
 * `none:<leadId>` when absent (unique per lead: FerretDB has no partial indexes). Hashed so that
 * every key is plain base64url text, which FerretDB pushes down to its index (a string holding `"`
 * or `\`, as the JSON text of the parts does, is not pushed down and reads the whole collection).
 */
const keyHash = (kind: string, parts: readonly string[]) =>
  `${kind}:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url')}`;

const externalKeyOf = (oemId: string, sourceId: string, externalId: string | undefined, leadId: string) =>
  externalId === undefined ? `none:${leadId}` : keyHash('ext', [oemId, sourceId, externalId]);

const idempotencyKeyOf = (caller: Caller, scope: string, leadId: string) =>
  caller.idempotencyKey === undefined
    ? `none:${leadId}`
    : keyHash('idem', [principalKey(caller.principal), scope, caller.idempotencyKey]);

export function channelError(decision: Extract<ChannelDecision, { ok: false }>): AppError {
  const status = ChannelRejections[decision.rejection];
  const type = status === 400 ? 'validation' : status === 403 ? 'forbidden' : 'unprocessable';
  return new AppError(type, decision.detail, {
    errors: [{ path: '/body/channelId', message: decision.detail }],
  });
}

function unavailable(leadIds: string[], cause: unknown): AppError {
  const which = leadIds.length === 1 ? `Lead ${leadIds[0]} is` : `${leadIds.length} leads are`;
  return new AppError(
    'unavailable',
    `The event bus did not acknowledge the lead. ${which} stored and will be delivered automatically; ` +
      'retrying this request (same Idempotency-Key or externalId) returns the same lead id.',
    { cause },
  );
}

function envelopeErrors(error: unknown, prefix: string): FieldError[] | undefined {
  if (!(error instanceof EnvelopeValidationError)) return undefined;
  return error.errors.map((line) => {
    const at = line.indexOf(': ');
    return at < 0
      ? { path: prefix, message: line }
      : { path: `${prefix}${line.slice(0, at).replace(/^\/data/, '')}`, message: line.slice(at + 2) };
  });
}

/**
 * Intake: validates, attributes and records each lead, publishes `lead.received`, and only then
 * answers. Idempotent by `Idempotency-Key` and by `(sourceId, externalId)`: a repeat gets the first
 * lead id back and publishes nothing new.
 */
export function createIntake(deps: IntakeDeps) {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'intake' });
  const timings = deps.timings ?? noTimings;

  async function resolveSender(principal: Principal, requestedSourceId: string | undefined): Promise<Sender> {
    const isSourceKey = principal.kind === 'source' && principal.roles.includes('source');
    if (isSourceKey) {
      if (requestedSourceId !== undefined && requestedSourceId !== principal.sub) {
        throw new AppError('forbidden', 'An API key may only submit leads for its own source.');
      }
      const source = await deps.sources.get(principal.oemId, principal.sub);
      // Revoked after the key was checked, or deleted: the key no longer stands for a source.
      if (source === undefined || source.revoked)
        throw new AppError('unauthorized', 'Invalid or expired credentials.');
      return { sourceId: source.id, source };
    }
    const dealerId = staffDealerOf(principal);
    const staffDealer = dealerId === undefined ? {} : { staffDealerId: dealerId };
    if (requestedSourceId === undefined) return { sourceId: principalSourceId(principal), ...staffDealer };
    const source = await deps.sources.get(principal.oemId, requestedSourceId);
    if (source === undefined) {
      throw new AppError('unprocessable', `Source "${requestedSourceId}" does not exist.`, {
        errors: [{ path: '/body/sourceId', message: 'unknown source' }],
      });
    }
    if (source.revoked) {
      throw new AppError('unprocessable', `Source "${requestedSourceId}" is revoked.`, {
        errors: [{ path: '/body/sourceId', message: 'revoked source' }],
      });
    }
    return { sourceId: source.id, source, ...staffDealer };
  }

  /** Dealer staff capture showroom leads for their own dealer; the dealer is taken from the token. */
  function withStaffDealer(submission: LeadSubmission, sender: Sender): LeadSubmission {
    if (sender.staffDealerId === undefined) return submission;
    if (submission.showroom !== undefined && submission.showroom.dealerId !== sender.staffDealerId) {
      throw new AppError('forbidden', 'Dealer staff can capture leads for their own dealer only.', {
        errors: [{ path: '/body/showroom/dealerId', message: 'must be your own dealer' }],
      });
    }
    return { ...submission, showroom: { ...submission.showroom, dealerId: sender.staffDealerId } };
  }

  function enforceRateLimit(sender: Sender, cost: number): void {
    const limit = sender.source?.rateLimitPerMinute;
    if (limit === undefined) return;
    if (!deps.rateWindow.take(sender.sourceId, limit, cost)) {
      throw new AppError(
        'rate_limited',
        `Source "${sender.sourceId}" is limited to ${limit} leads per minute.`,
      );
    }
  }

  function buildRecord(
    leadId: string,
    caller: Caller,
    sender: Sender,
    submission: LeadSubmission,
    channel: ChannelRef,
    /** The L3 channel's cost per lead, carried on the event for reporting's media ROI. */
    costPerLead: number | undefined,
    idempotencyScope: string,
    receivedAt: Date,
    fingerprint: string,
    importJobId?: string,
  ): IntakeRecord {
    const oemId = caller.principal.oemId;
    const key = customerKey(submission.customer, leadId, deps.customerKeySecret);
    const envelope = buildLeadReceived({
      leadId,
      oemId,
      sourceId: sender.sourceId,
      channel,
      receivedAt,
      customerKey: key.key,
      submission,
      correlationId: caller.correlationId,
      ...(importJobId === undefined ? {} : { importJobId }),
      ...(costPerLead === undefined ? {} : { channelCostCny: costPerLead }),
    });
    return rememberEnvelope(
      {
        _id: leadId,
        oemId,
        sourceId: sender.sourceId,
        externalKey: externalKeyOf(oemId, sender.sourceId, submission.externalId, leadId),
        idempotencyKey: idempotencyKeyOf(caller, idempotencyScope, leadId),
        fingerprint,
        envelope: JSON.stringify(envelope),
        receivedAt,
      },
      envelope,
    );
  }

  function dedupKeys(caller: Caller, sender: Sender, submission: LeadSubmission, scope: string) {
    // Real keys only: the `none:` placeholders are unique per lead and can never match.
    return {
      externalKey: externalKeyOf(caller.principal.oemId, sender.sourceId, submission.externalId, '\u0000'),
      idempotencyKey: idempotencyKeyOf(caller, scope, '\u0000'),
    };
  }

  function assertSameRequest(
    existing: IntakeRecord,
    keys: { idempotencyKey: string },
    fingerprint: string,
  ): void {
    if (existing.idempotencyKey === keys.idempotencyKey && existing.fingerprint !== fingerprint) {
      throw new AppError('unprocessable', 'This Idempotency-Key was already used for a different lead.');
    }
  }

  /**
   * A repeat of an earlier lead. If that lead is still pending, wait for its writer to publish it, or
   * take over its publish once the writer's lease has run out (the writer crashed, or Kafka was down):
   * the caller is only told "accepted" once the event is on Kafka, and only one writer publishes.
   */
  async function settleDuplicate(existing: IntakeRecord, waitMs: number): Promise<SubmitOutcome> {
    const id = existing._id;
    const outcome = { leadId: id, receivedAt: existing.receivedAt.toISOString(), duplicate: true };
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (!(await deps.records.pendingIds([id])).has(id)) return outcome;
      // Taking over the lead takes its whole entry: every record of it is published (same event ids).
      const claimed = await deps.records.claim(id, now(), deps.leaseMs);
      if (claimed !== undefined) {
        try {
          await deps.publish(claimed);
        } catch (error) {
          throw unavailable([id], error);
        }
        return outcome;
      }
      if (Date.now() >= deadline) {
        throw new AppError(
          'conflict',
          `Lead ${id} is still being accepted by an earlier request; retry shortly.`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async function submitOne(caller: Caller, body: unknown): Promise<SubmitOutcome> {
    const started = performance.now();
    const parsed = parseLeadSubmission(body, '/body', { showroomDealerId: staffDealerOf(caller.principal) });
    if (!parsed.ok) {
      throw new AppError('validation', `${parsed.errors.length} field(s) failed validation.`, {
        errors: parsed.errors,
      });
    }
    const sender = await resolveSender(caller.principal, parsed.value.sourceId);
    const submission = withStaffDealer(parsed.value, sender);
    enforceRateLimit(sender, 1);

    const keys = dedupKeys(caller, sender, submission, 'lead');
    const fingerprint = requestFingerprint('POST', sender.sourceId, submission);

    // No duplicate pre-check: a repeat collides on the record's unique indexes at insert time, which
    // costs new leads nothing. Only a lead the channel rules refuse is looked up first, so that a
    // repeat of a lead accepted before its campaign ended still gets its lead id back.
    const channelId = resolveChannelId(submission.channelId, sender.source);
    const channel =
      channelId === undefined ? undefined : await deps.channels.get(caller.principal.oemId, channelId);
    const receivedAt = now();
    const decision = checkChannel(channelId, channel, sender.source, receivedAt);
    if (!decision.ok) {
      const earlier = await deps.records.findExisting(keys);
      if (earlier === undefined) throw channelError(decision);
      assertSameRequest(earlier, keys, fingerprint);
      return settleDuplicate(earlier, deps.leaseMs);
    }

    // The record is built for the lead id the write draws (from an outbox entry written ahead).
    const build = (leadId: string) =>
      buildRecord(
        leadId,
        caller,
        sender,
        submission,
        decision.channel,
        channel?.costPerLead,
        'lead',
        receivedAt,
        fingerprint,
      );
    const prepared = performance.now();
    timings.observe('single.prepare', prepared - started);
    let written: SingleOutcome;
    try {
      written = await deps.records.insert(build, new Date(receivedAt.getTime() + deps.leaseMs));
    } catch (error) {
      const errors = envelopeErrors(error, '/body');
      if (errors === undefined) throw error;
      throw new AppError('validation', 'The lead does not fit the lead.received contract.', { errors });
    }
    const inserted = written.outcome;
    const record = written.record;
    const stored = performance.now();
    timings.observe('single.write', stored - prepared);
    if (!inserted.inserted) {
      assertSameRequest(inserted.existing, keys, fingerprint);
      return settleDuplicate(inserted.existing, deps.leaseMs);
    }
    try {
      await deps.publish([record]);
      timings.observe('single.publish', performance.now() - stored);
    } catch (error) {
      log.warn({ err: error, leadId: record._id }, 'lead.received not acknowledged; left for the relay');
      throw unavailable([record._id], error);
    }
    return { leadId: record._id, receivedAt: receivedAt.toISOString(), duplicate: false };
  }

  /**
   * Up to 1,000 leads in one request. Each item is judged on its own (accepted, duplicate or rejected
   * with its errors); the accepted ones go to Kafka in one batch publish before the answer. With an
   * `Idempotency-Key`, item `i` is keyed `<key>#i`, so a retried batch maps every item to its first lead.
   */
  async function submitBatch(
    caller: Caller,
    items: readonly unknown[],
    options: BatchOptions = {},
  ): Promise<BatchItemResult[]> {
    const prefixOf = options.prefix ?? ((index: number) => `/body/leads/${index}`);
    const results: BatchItemResult[] = new Array<BatchItemResult>(items.length);
    const senders = new Map<string, Promise<Sender>>();
    const senderFor = (sourceId: string | undefined) => {
      const cacheKey = sourceId ?? '\u0000';
      let sender = senders.get(cacheKey);
      if (sender === undefined) {
        sender = resolveSender(caller.principal, sourceId);
        sender.catch(() => undefined);
        senders.set(cacheKey, sender);
      }
      return sender;
    };
    const reject = (index: number, errors: FieldError[]) => {
      results[index] = { index, status: 'rejected', errors };
    };
    const itemCaller = (index: number): Caller => ({
      ...caller,
      idempotencyKey:
        options.itemKey !== undefined
          ? options.itemKey(index)
          : caller.idempotencyKey === undefined
            ? undefined
            : `${caller.idempotencyKey}#${index}`,
    });

    interface Candidate {
      index: number;
      caller: Caller;
      sender: Sender;
      submission: LeadSubmission;
      keys: { externalKey: string; idempotencyKey: string };
      fingerprint: string;
    }
    const candidates: Candidate[] = [];
    for (const [index, item] of items.entries()) {
      const prefix = prefixOf(index);
      const parsed = parseLeadSubmission(item, prefix, { showroomDealerId: staffDealerOf(caller.principal) });
      if (!parsed.ok) {
        reject(index, parsed.errors);
        continue;
      }
      try {
        const sender = await senderFor(parsed.value.sourceId);
        const submission = withStaffDealer(parsed.value, sender);
        const c = itemCaller(index);
        candidates.push({
          index,
          caller: c,
          sender,
          submission,
          keys: dedupKeys(c, sender, submission, 'batch'),
          fingerprint: requestFingerprint('POST', sender.sourceId, submission),
        });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        if (error.type === 'unauthorized') throw error;
        reject(index, error.errors ?? [{ path: prefix, message: error.detail }]);
      }
    }
    const bySource = new Map<string, { sender: Sender; count: number }>();
    for (const c of candidates) {
      const entry = bySource.get(c.sender.sourceId) ?? { sender: c.sender, count: 0 };
      entry.count += 1;
      bySource.set(c.sender.sourceId, entry);
    }
    if (options.skipRateLimit !== true) {
      for (const { sender, count } of bySource.values()) enforceRateLimit(sender, count);
    }

    const toPublish: IntakeRecord[] = [];
    const pendingDuplicates: IntakeRecord[] = [];
    const settle = (c: Candidate, existing: IntakeRecord) => {
      if (existing.idempotencyKey === c.keys.idempotencyKey && existing.fingerprint !== c.fingerprint) {
        reject(c.index, [
          {
            path: prefixOf(c.index),
            message: 'this Idempotency-Key item was already used for a different lead',
          },
        ]);
        return;
      }
      results[c.index] = {
        index: c.index,
        status: 'duplicate',
        leadId: existing._id,
        ...(existing.idempotencyKey === c.keys.idempotencyKey ? { replay: true } : {}),
      };
      pendingDuplicates.push(existing);
    };

    // As for one lead, repeats are found by the unique indexes at insert rather than by a pre-check.
    // Except for a retried batch: when its first keyed item is a repeat, the others probably are
    // too, and looking them up is far cheaper than a thousand inserts refused one by one.
    let fresh = candidates;
    const probe = candidates.find(
      (c) => !c.keys.externalKey.startsWith('none:') || !c.keys.idempotencyKey.startsWith('none:'),
    );
    if (probe !== undefined && (await deps.records.findExisting(probe.keys)) !== undefined) {
      const found = await deps.records.findExistingMany(candidates.map((c) => c.keys));
      fresh = [];
      for (const [i, c] of candidates.entries()) {
        const existing = found[i];
        if (existing === undefined) fresh.push(c);
        else settle(c, existing);
      }
    }

    const oemId = caller.principal.oemId;
    const channelIds = fresh
      .map((c) => resolveChannelId(c.submission.channelId, c.sender.source))
      .filter((id): id is string => id !== undefined);
    // Through the per-instance cache: a batch names one or a few channels.
    const channels = new Map(
      (await Promise.all([...new Set(channelIds)].map((id) => deps.channels.get(oemId, id)))).flatMap(
        (channel) => (channel === undefined ? [] : [[channel.id, channel] as const]),
      ),
    );
    const receivedAt = now();
    const accepting: { candidate: Candidate; channel: ChannelRef; costPerLead: number | undefined }[] = [];
    const refused: { candidate: Candidate; detail: string }[] = [];
    for (const c of fresh) {
      const channelId = resolveChannelId(c.submission.channelId, c.sender.source);
      const channel = channelId === undefined ? undefined : channels.get(channelId);
      const decision = checkChannel(channelId, channel, c.sender.source, receivedAt);
      if (decision.ok)
        accepting.push({ candidate: c, channel: decision.channel, costPerLead: channel?.costPerLead });
      else refused.push({ candidate: c, detail: decision.detail });
    }

    // A refused item may repeat a lead accepted while its channel was still valid.
    const earlier = await deps.records.findExistingMany(refused.map((r) => r.candidate.keys));
    for (const [i, { candidate: c, detail }] of refused.entries()) {
      const existing = earlier[i];
      if (existing === undefined)
        reject(c.index, [{ path: `${prefixOf(c.index)}/channelId`, message: detail }]);
      else settle(c, existing);
    }

    const built: { candidate: Candidate; record: IntakeRecord }[] = [];
    for (const { candidate: c, channel, costPerLead } of accepting) {
      try {
        built.push({
          candidate: c,
          record: buildRecord(
            newLeadId(receivedAt.getTime()),
            c.caller,
            c.sender,
            c.submission,
            channel,
            costPerLead,
            'batch',
            receivedAt,
            c.fingerprint,
            options.importJobId,
          ),
        });
      } catch (error) {
        const errors = envelopeErrors(error, prefixOf(c.index));
        if (errors === undefined) throw error;
        reject(c.index, errors);
      }
    }

    const outcomes = await deps.records.insertMany(
      built.map((b) => b.record),
      new Date(receivedAt.getTime() + deps.leaseMs),
      receivedAt,
    );
    for (const [i, outcome] of outcomes.entries()) {
      const entry = built[i];
      if (entry === undefined) continue;
      if (outcome.inserted) {
        results[entry.candidate.index] = {
          index: entry.candidate.index,
          status: 'accepted',
          leadId: entry.record._id,
        };
        toPublish.push(entry.record);
      } else {
        settle(entry.candidate, outcome.existing);
      }
    }

    // Earlier records still pending: publish those whose lease ran out (their writer gave up or
    // crashed); the rest belong to a request in flight or to the relay, which will publish them.
    const acceptedIds = new Set(toPublish.map((r) => r._id));
    const stillPending = await deps.records.pendingIds(
      pendingDuplicates.map((r) => r._id).filter((id) => !acceptedIds.has(id)),
    );
    for (const record of pendingDuplicates) {
      if (acceptedIds.has(record._id) || !stillPending.has(record._id)) continue;
      // Taking it over takes its whole entry: every record of that entry is published.
      for (const claimed of (await deps.records.claim(record._id, now(), deps.leaseMs)) ?? []) {
        if (acceptedIds.has(claimed._id)) continue;
        acceptedIds.add(claimed._id);
        toPublish.push(claimed);
      }
    }
    try {
      await deps.publish(toPublish);
    } catch (error) {
      log.warn(
        { err: error, count: toPublish.length },
        'batch lead.received not acknowledged; left for the relay',
      );
      throw unavailable(
        toPublish.map((r) => r._id),
        error,
      );
    }
    return results;
  }

  return { submitOne, submitBatch };
}

export type Intake = ReturnType<typeof createIntake>;
