import type { Logger } from '@leadflow/platform/logger';
import type { IntakeRecordRepository } from '../repositories/intake-record.repository.js';
import type { PublishRecords } from '../use-cases/publish-intake.js';

export interface IntakeRelayDeps {
  records: IntakeRecordRepository;
  publish: PublishRecords;
  logger: Logger;
  intervalMs: number;
  leaseMs: number;
  /** Records per pass. */
  batchSize?: number;
  now?: () => Date;
}

/**
 * Closes the gap between "intake record written" and "lead.received acknowledged": every interval it
 * takes the lease of pending records whose writer's lease ran out (the request crashed, or Kafka was
 * down and the caller got a 503) and publishes their stored envelopes — same event ids, so consumers
 * drop whatever had in fact been delivered. Safe with many instances: the lease is a conditional update.
 */
export function createIntakeRelay(deps: IntakeRelayDeps) {
  const log = deps.logger.child({ component: 'intake-relay' });
  const now = deps.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  /** One pass; resolves with the number of records published. */
  async function runOnce(): Promise<number> {
    const claimed = await deps.records.claimStale(now(), deps.leaseMs, deps.batchSize ?? 500);
    if (claimed.length === 0) return 0;
    await deps.publish(claimed);
    // A pass ends with the outbox entries of what it published deleted (requests do not wait for that).
    await deps.records.drain();
    log.info({ count: claimed.length }, 'relayed pending lead.received events');
    return claimed.length;
  }

  const tick = () => {
    if (stopped || running !== undefined) return;
    running = runOnce()
      .catch((error: unknown) => {
        log.warn({ err: error }, 'relay pass failed; retrying next interval');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
  };

  return {
    runOnce,
    start() {
      stopped = false;
      timer ??= setInterval(tick, deps.intervalMs);
    },
    /** Stops the timer and waits for a pass in flight. */
    async stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type IntakeRelay = ReturnType<typeof createIntakeRelay>;
