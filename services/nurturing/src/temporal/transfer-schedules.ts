import { ScheduleAlreadyRunning, type Client } from '@temporalio/client';
import type { CalendarSpec } from '@temporalio/client';
import type { TransferRule } from '../domain/scheduled-transfers.js';
import {
  SCHEDULED_TRANSFER_WORKFLOW,
  type ScheduledTransferInput,
} from './workflows/scheduled-transfer.definitions.js';

/** When each rule runs, in the dealer's time zone. */
const calendars: Record<TransferRule, CalendarSpec> = {
  daily_grade: { hour: 9, minute: 0 },
  // Right after the grade run, so one morning's moves arrive together.
  two_months: { hour: 9, minute: 5 },
  // Every day from the 28th; the run itself checks that it is the month's last day.
  month_end: { dayOfMonth: { start: 28, end: 31 }, hour: 20, minute: 0 },
};

export function transferScheduleId(oemId: string, dealerId: string, rule: TransferRule): string {
  return `transfers-${oemId}-${dealerId}-${rule}`;
}

export interface TransferSchedules {
  /** Creates the dealer's three schedules once (idempotent; a process remembers the dealers it did). */
  ensure(scope: { oemId: string; dealerId: string; timeZone: string }): Promise<void>;
}

export function createTransferSchedules({
  client,
  taskQueue,
}: {
  client: Client;
  taskQueue: string;
}): TransferSchedules {
  const done = new Set<string>();
  // A burst of one new dealer's leads (handled concurrently) creates its schedules once.
  const creating = new Map<string, Promise<void>>();
  const create = async (scope: { oemId: string; dealerId: string; timeZone: string }, key: string) => {
    for (const rule of Object.keys(calendars) as TransferRule[]) {
      const args: [ScheduledTransferInput] = [
        { oemId: scope.oemId, dealerId: scope.dealerId, rule, timeZone: scope.timeZone },
      ];
      try {
        await client.schedule.create({
          scheduleId: transferScheduleId(scope.oemId, scope.dealerId, rule),
          spec: { calendars: [calendars[rule]], timezone: scope.timeZone },
          action: {
            type: 'startWorkflow',
            workflowType: SCHEDULED_TRANSFER_WORKFLOW,
            workflowId: `transfer-${scope.oemId}-${scope.dealerId}-${rule}`,
            taskQueue,
            args,
          },
          // A run still going when the next is due (a huge dealer) is not doubled.
          policies: { overlap: 'SKIP', catchupWindow: '1 hour' },
        });
      } catch (error) {
        if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      }
    }
    done.add(key);
  };
  return {
    async ensure(scope) {
      const key = `${scope.oemId}:${scope.dealerId}`;
      if (done.has(key)) return;
      let running = creating.get(key);
      if (running === undefined) {
        running = create(scope, key).finally(() => creating.delete(key));
        creating.set(key, running);
      }
      await running;
    },
  };
}
