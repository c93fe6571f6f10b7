import { temporalTestServerPath } from '@leadflow/testkit/infra';
import { uniqueName, uniqueTaskQueue } from '@leadflow/testkit/names';
import { waitFor } from '@leadflow/testkit/events';
import { ApplicationFailure, WorkflowUpdateFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { expect } from 'vitest';
import { atLocalTime, type BusinessCalendar, type OpeningHours } from '../../src/domain/business-calendar.js';
import type { ActingPrincipal } from '../../src/domain/lifecycle-rules.js';
import type { SlaPolicy } from '../../src/domain/sla.js';
import type { OutgoingEvent, RecordedAction } from '../../src/temporal/activities/lifecycle.activities.js';
import type {
  DeliveryResult,
  MessagingActivities,
  OutboundMessage,
} from '../../src/temporal/activities/messaging.activities.js';
import { createLifecycleClient, type LifecycleClient } from '../../src/temporal/lifecycle-client.js';
import {
  INVALID_TRANSITION,
  lifecycleWorkflowId,
  type LifecycleInput,
} from '../../src/temporal/workflows/lead-lifecycle.definitions.js';
import type { leadLifecycleWorkflow } from '../../src/temporal/workflows/lead-lifecycle.workflow.js';
import { journeyWorkflowId } from '../../src/temporal/workflows/nurture-journey.definitions.js';
import { workflowsPath } from '../../src/temporal/worker.js';

// The time-skipping test server shared by a workflow test file: one server and one workflow bundle,
// a worker per test on its own task queue, and recording doubles for the activities unless the test
// brings real ones.

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface Harness {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
}

export async function createHarness(): Promise<Harness> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  return { env, bundle };
}

export const policy24h: SlaPolicy = {
  id: 'first-contact-24h',
  firstContactMinutes: 24 * 60,
  businessTime: true,
  reminderAtPct: 80,
  graceMinutes: 120,
};

export const agent: ActingPrincipal = {
  actor: { id: 'user-agent-1', role: 'showroom_consultant' },
  dealerId: 'D1',
  agentId: 'A1',
  manager: false,
};

/** Open every day 09:00–18:00 Asia/Shanghai: appointment times are easy to place relative to the test clock. */
export const everyDay: BusinessCalendar = (() => {
  const day: OpeningHours[] = [{ start: '09:00', end: '18:00' }];
  return {
    timeZone: 'Asia/Shanghai',
    week: { '1': day, '2': day, '3': day, '4': day, '5': day, '6': day, '7': day },
    holidays: [],
  };
})();

export interface Ctx {
  taskQueue: string;
  leadIds: string[];
  actions: RecordedAction[];
  messages: OutboundMessage[];
  lifecycle: LifecycleClient;
}

/** A message double: records what the workflow asked for and reports it sent. */
export function recordingMessaging(messages: OutboundMessage[]): MessagingActivities {
  return {
    sendMessage(message): Promise<DeliveryResult> {
      messages.push(message);
      return Promise.resolve({
        status: 'sent',
        messageId: message.messageId,
        channel: 'sms',
        attempts: 1,
        sentAt: new Date().toISOString(),
      });
    },
  };
}

export async function withWorker(
  harness: Harness,
  test: (ctx: Ctx) => Promise<void>,
  options: { messaging?: MessagingActivities; taskQueue?: string; activities?: object } = {},
): Promise<void> {
  const { env, bundle } = harness;
  const taskQueue = options.taskQueue ?? uniqueTaskQueue('lifecycle');
  const ctx: Ctx = {
    taskQueue,
    leadIds: [],
    actions: [],
    messages: [],
    lifecycle: createLifecycleClient({ client: env.client, taskQueue }),
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: {
      recordAction: (action: RecordedAction) => {
        ctx.actions.push(action);
        return Promise.resolve();
      },
      ...(options.messaging ?? recordingMessaging(ctx.messages)),
      ...options.activities,
    },
  });
  const run = async () => {
    try {
      await test(ctx);
    } finally {
      // A workflow left running without its worker would stall the shared server's time skipping.
      for (const leadId of ctx.leadIds) {
        for (const workflowId of [lifecycleWorkflowId(leadId), journeyWorkflowId(leadId)]) {
          await env.client.workflow
            .getHandle(workflowId)
            .terminate('test finished')
            .catch(() => undefined);
        }
      }
    }
  };
  await worker.runUntil(run());
}

export const eventsOf = (actions: RecordedAction[]): OutgoingEvent[] => actions.flatMap((a) => a.events);
export const typesOf = (actions: RecordedAction[]) => eventsOf(actions).map((e) => e.type);

export function inputFor(leadId: string, at: number, calendar: BusinessCalendar = everyDay): LifecycleInput {
  return {
    leadId,
    oemId: 'oem-1',
    assignment: {
      eventId: `${leadId}:allocated:1`,
      kind: 'allocated',
      owner: { dealerId: 'D1', agentId: 'A1', queue: 'showroom' },
      at: new Date(at).toISOString(),
      correlationId: `corr-${leadId}`,
      attempt: 1,
      grade: 'H',
      followUpIntervalDays: 2,
      slaPolicy: policy24h,
      calendar,
    },
  };
}

export async function startLead(harness: Harness, ctx: Ctx, actions: RecordedAction[] = ctx.actions) {
  const leadId = uniqueName('lead');
  ctx.leadIds.push(leadId);
  const input = inputFor(leadId, await harness.env.currentTimeMs());
  await ctx.lifecycle.startOrSignal(input);
  await waitFor(() => actions.some((a) => a.action === 'lifecycle_started'), {
    description: 'lifecycle_started',
  });
  return {
    leadId,
    input,
    handle: harness.env.client.workflow.getHandle<typeof leadLifecycleWorkflow>(lifecycleWorkflowId(leadId)),
  };
}

/** Advances the test server's clock to just after `iso` (timers in between fire in order). */
export async function sleepPast(harness: Harness, iso: string, marginMs = 60_000): Promise<void> {
  const delta = Date.parse(iso) + marginMs - (await harness.env.currentTimeMs());
  if (delta > 0) await harness.env.sleep(delta);
}

export async function inFuture(harness: Harness, ms: number): Promise<string> {
  return new Date((await harness.env.currentTimeMs()) + ms).toISOString();
}

/** `HH:mm` Shanghai time, `days` local days after the test clock's current date. */
export async function localTimeInDays(
  harness: Harness,
  days: number,
  clock: `${number}:${number}`,
): Promise<string> {
  const base = (await harness.env.currentTimeMs()) + days * DAY_MS;
  return atLocalTime(new Date(base), clock, 'Asia/Shanghai').toISOString();
}

/** The reason of a validator rejection. */
export function rejection(error: unknown): string {
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(INVALID_TRANSITION);
  return (cause as ApplicationFailure).message;
}
