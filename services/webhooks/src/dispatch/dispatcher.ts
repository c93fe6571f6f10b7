import type { Logger } from '@leadflow/platform/logger';
import { Counter, Histogram, type Registry } from 'prom-client';
import { isDelivered, nextAttempt, type RetryPolicy } from '../domain/retry-schedule.js';
import { liveSecrets, type SecretBox } from '../domain/secrets.js';
import { signatureHeader, WebhookHeaders } from '../domain/signature.js';
import { dueHeads } from '../domain/lane-order.js';
import type {
  DeliveryRepository,
  ScheduledDelivery,
  ScheduleEntry,
} from '../repositories/delivery.repository.js';
import type { NotificationRepository } from '../repositories/notification.repository.js';
import {
  createCachedSubscriptions,
  type StoredSubscription,
  type SubscriptionRepository,
} from '../repositories/subscription.repository.js';
import type { Sender } from './http-sender.js';

export interface DispatcherOptions {
  deliveries: DeliveryRepository;
  subscriptions: SubscriptionRepository;
  notifications: NotificationRepository;
  secretBox: SecretBox;
  send: Sender;
  policy: RetryPolicy;
  pollMs: number;
  concurrency: number;
  leaseMs: number;
  timeoutMs: number;
  /** Names this instance in attempt records. */
  instance: string;
  userAgent: string;
  logger: Logger;
  registry?: Registry;
  now?: () => Date;
}

export interface Dispatcher {
  start(): void;
  /** Stops polling and waits for the attempts in flight (their results are recorded). */
  stop(): Promise<void>;
  /** Something became due (a new delivery, a lane moved on): poll now instead of at the next tick. */
  wake(): void;
}

function dispatchMetrics(registry: Registry | undefined) {
  if (registry === undefined) return undefined;
  return {
    attempts: new Counter<'outcome'>({
      name: 'webhook_delivery_attempts_total',
      help: 'Webhook HTTP attempts by outcome (delivered, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    ended: new Counter<'state'>({
      name: 'webhook_deliveries_finished_total',
      help: 'Deliveries that ended, by final state (delivered, failed, cancelled).',
      labelNames: ['state'],
      registers: [registry],
    }),
    disabled: new Counter({
      name: 'webhook_subscriptions_disabled_total',
      help: 'Subscriptions disabled because a delivery failed for good.',
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'webhook_event_to_delivery_seconds',
      help: 'From the event occurring to its first successful delivery (live deliveries only).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers: [registry],
    }),
  };
}

/**
 * Delivers pending webhooks from the durable schedule in MongoDB. Every instance polls; they share
 * the work safely because an attempt is owned by whoever inserted its attempt record (a unique
 * insert), with a lease after which a crashed owner's attempt is taken over. In-process, a wake-up
 * after each enqueue and each finished delivery keeps latency far below the poll interval.
 *
 * Ordering: each poll reads the schedule once and sends only the heads of their lanes (subscription
 * × lead, lowest event sequence; `dueHeads`). A lead's events are scheduled in order (fan-out is
 * serial per lead) and leave the schedule only once their outcome is recorded, so a follower cannot
 * be picked while an earlier event of its lead is still scheduled, on any instance.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { deliveries, subscriptions, notifications, secretBox, send, policy } = options;
  const log = options.logger.child({ component: 'webhook-dispatcher' });
  const now = options.now ?? (() => new Date());
  const metrics = dispatchMetrics(options.registry);
  const inFlight = new Map<string, Promise<void>>();
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let woken = false;

  function wake(): void {
    woken = true;
    wakeUp?.();
  }

  function sleep(ms: number): Promise<void> {
    if (woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  const cached = createCachedSubscriptions(subscriptions);
  const subscriptionOf = (id: string, fresh = false) => cached.byId(id, fresh);

  async function disableSubscription(
    subscription: StoredSubscription,
    delivery: ScheduledDelivery,
    reason: string,
  ) {
    const at = now();
    if (subscription.status !== 'active') return;
    // Notification first: whoever sees the subscription disabled can already read why.
    await notifications.record({
      _id: `${subscription._id}:disabled:${delivery._id}`,
      owner: subscription.owner,
      subscriptionId: subscription._id,
      type: 'subscription.disabled',
      reason,
      deliveryId: delivery._id,
      eventId: delivery.eventId,
      at,
    });
    if (!(await subscriptions.disable(subscription._id, reason, at))) return;
    const cancelled = await deliveries.cancelPending(subscription._id, 'subscription_disabled', at);
    metrics?.disabled.inc();
    log.warn(
      {
        subscriptionId: subscription._id,
        deliveryId: delivery._id,
        eventId: delivery.eventId,
        reason,
        cancelled,
      },
      'webhook subscription disabled after a delivery failed for good',
    );
  }

  /** Ends a delivery without sending it (its subscription or event is gone), then moves its lane on. */
  async function end(
    delivery: ScheduledDelivery,
    state: 'cancelled',
    fields: { reason: string },
  ): Promise<void> {
    const at = now();
    await deliveries.recordOutcome({
      _id: delivery._id,
      subscriptionId: delivery.subscriptionId,
      state,
      at,
      reason: fields.reason,
    });
    await deliveries.finish(delivery._id, state, fields, at);
    metrics?.ended.inc({ state });
    wake();
  }

  /** One pass over a due delivery; true when it moved (sent, ended), false when it had to wait. */
  async function attempt(entry: ScheduleEntry): Promise<boolean> {
    // Fresh, with its body: the snapshot it was picked from may be a moment old.
    const candidate = await deliveries.scheduled(entry._id);
    if (candidate === null) return false;
    let subscription = await subscriptionOf(candidate.subscriptionId);
    // Never cancel on cached knowledge: the subscription may have been re-enabled a moment ago.
    if (subscription === null || subscription.status !== 'active')
      subscription = await subscriptionOf(candidate.subscriptionId, true);
    if (subscription === null || subscription.status !== 'active') {
      await end(candidate, 'cancelled', {
        reason: subscription === null ? 'subscription_deleted' : 'subscription_disabled',
      });
      return true;
    }

    const startedAt = now();
    const claim = await deliveries.claim(
      candidate,
      options.instance,
      startedAt,
      new Date(startedAt.getTime() + options.leaseMs),
    );
    if (!claim.claimed) {
      if (claim.ended === undefined) return false;
      await deliveries.finish(
        candidate._id,
        claim.ended.state,
        { ...(claim.ended.reason === undefined ? {} : { reason: claim.ended.reason }) },
        now(),
      );
      wake();
      return true;
    }
    const { attempt: claimed } = claim;
    // Checked after the claim: whoever ended it recorded the outcome before releasing its attempt.
    const ended = await deliveries.outcomeOf(candidate._id);
    if (ended !== null) {
      await deliveries.finishAttempt(
        claimed,
        'abandoned',
        { error: `delivery already ${ended.state}`, durationMs: 0 },
        now(),
      );
      await deliveries.finish(
        candidate._id,
        ended.state,
        { ...(ended.reason === undefined ? {} : { reason: ended.reason }) },
        now(),
      );
      wake();
      return true;
    }
    const secrets = liveSecrets(subscription.secrets, startedAt).map((s) => secretBox.open(s.sealed));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': options.userAgent,
      [WebhookHeaders.signature]: signatureHeader(
        secrets,
        Math.floor(startedAt.getTime() / 1000),
        candidate.body,
      ),
      [WebhookHeaders.eventId]: candidate.eventId,
      [WebhookHeaders.eventType]: candidate.eventType,
      [WebhookHeaders.deliveryId]: candidate._id,
      [WebhookHeaders.attempt]: String(claimed.n),
      ...(candidate.replayId === undefined ? {} : { [WebhookHeaders.replay]: candidate.replayId }),
    };
    const result = await send({
      url: subscription.url,
      body: candidate.body,
      headers,
      timeoutMs: options.timeoutMs,
    });
    const endedAt = now();
    const outcome = {
      durationMs: result.durationMs,
      ...(result.status === undefined ? {} : { status: result.status }),
      ...(result.error === undefined ? {} : { error: result.error }),
    };
    const delivered = result.status !== undefined && isDelivered(result.status);
    metrics?.attempts.inc({ outcome: delivered ? 'delivered' : 'failed' });
    const dlog = log.child({ deliveryId: candidate._id, eventId: candidate.eventId, attempt: claimed.n });

    if (delivered) {
      // Outcome first: once the attempt is no longer in flight, another claim must see the end.
      await deliveries.recordOutcome({
        _id: candidate._id,
        subscriptionId: candidate.subscriptionId,
        state: 'delivered',
        at: endedAt,
        ...(result.status === undefined ? {} : { status: result.status }),
      });
      await Promise.all([
        deliveries.finishAttempt(claimed, 'delivered', outcome, endedAt),
        deliveries.finish(
          candidate._id,
          'delivered',
          { ...outcome, attempts: claimed.n, firstAttemptAt: claim.firstAttemptAt },
          endedAt,
        ),
      ]);
      metrics?.ended.inc({ state: 'delivered' });
      if (candidate.replayId === undefined) {
        metrics?.latency.observe(Math.max(0, (endedAt.getTime() - candidate.occurredAt.getTime()) / 1000));
      }
      dlog.debug({ status: result.status, durationMs: result.durationMs }, 'webhook delivered');
      wake();
      return true;
    }

    const decision = nextAttempt({
      attempt: claimed.n,
      firstAttemptAt: claim.firstAttemptAt,
      now: endedAt,
      status: result.status,
      policy,
    });
    if (decision.retry) {
      // Schedule first, then release the attempt, so no other instance sees it due before its time.
      await deliveries.reschedule(candidate._id, decision.at, {
        ...outcome,
        attempts: claimed.n,
        firstAttemptAt: claim.firstAttemptAt,
      });
      await deliveries.finishAttempt(claimed, 'failed', outcome, endedAt);
      dlog.info(
        { status: result.status, error: result.error, retryAt: decision.at },
        'webhook attempt failed; retrying',
      );
      return true;
    }
    const reason =
      decision.reason === 'gone'
        ? 'receiver answered 410 Gone'
        : `no successful delivery within ${policy.maxAgeMs} ms`;
    await deliveries.recordOutcome({
      _id: candidate._id,
      subscriptionId: candidate.subscriptionId,
      state: 'failed',
      at: endedAt,
      reason,
      ...(result.status === undefined ? {} : { status: result.status }),
    });
    await deliveries.finishAttempt(claimed, 'failed', outcome, endedAt);
    await deliveries.finish(
      candidate._id,
      'failed',
      { ...outcome, reason, attempts: claimed.n, firstAttemptAt: claim.firstAttemptAt },
      endedAt,
    );
    metrics?.ended.inc({ state: 'failed' });
    dlog.warn({ status: result.status, error: result.error, reason }, 'webhook delivery given up');
    await disableSubscription(subscription, candidate, reason);
    wake();
    return true;
  }

  async function tick(): Promise<void> {
    const free = options.concurrency - inFlight.size;
    if (free <= 0) return;
    const heads = dueHeads(await deliveries.snapshot(), now(), free, new Set(inFlight.keys()));
    for (const head of heads) {
      // A pass that made progress wakes the loop (the lane's next delivery may be due); one that had
      // to wait does not, so a lane blocked behind another instance's attempt never spins.
      const work = attempt(head)
        .then(
          (progressed) => progressed,
          (error: unknown) => {
            log.error({ err: error, deliveryId: head._id }, 'delivery attempt crashed');
            return false;
          },
        )
        .then((progressed) => {
          inFlight.delete(head._id);
          if (progressed) wake();
        });
      inFlight.set(head._id, work);
    }
  }

  async function run(): Promise<void> {
    while (running) {
      woken = false;
      try {
        await tick();
      } catch (error) {
        log.error({ err: error }, 'dispatcher poll failed');
      }
      if (!running) break;
      await sleep(options.pollMs);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      await Promise.all(inFlight.values());
    },
    wake,
  };
}
