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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addBusinessMinutes,
  type BusinessCalendar,
  type IsoWeekday,
  type OpeningHours,
} from '../src/domain/business-calendar.js';
import type { ActingPrincipal } from '../src/domain/lifecycle-rules.js';
import { elapsedSlaMinutes, slaDeadlines, type SlaPolicy } from '../src/domain/sla.js';
import type { OutgoingEvent, RecordedAction } from '../src/temporal/activities/lifecycle.activities.js';
import { createLifecycleClient, type LifecycleClient } from '../src/temporal/lifecycle-client.js';
import {
  assignmentSignal,
  defeatDecisionUpdate,
  defeatRequestUpdate,
  followUpUpdate,
  INVALID_TRANSITION,
  lifecycleWorkflowId,
  stateQuery,
  type LifecycleInput,
} from '../src/temporal/workflows/lead-lifecycle.definitions.js';
import { journeyWorkflowId } from '../src/temporal/workflows/nurture-journey.definitions.js';
import { workflowsPath } from '../src/temporal/worker.js';

// Workflow tests on the time-skipping test server: a 48-hour SLA over a weekend runs in seconds.
// The activity is replaced by a recording double (the workflow's collaborator in a unit-style test);
// the real activity, Kafka and Mongo are covered by nurturing.service.test.ts.

const HOUR_MS = 3_600_000;
const SHANGHAI_MS = 8 * HOUR_MS;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  // The SDK's INFO lines (worker state changes, bundle stats) drown test output.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

const policy24h: SlaPolicy = {
  id: 'first-contact-24h',
  firstContactMinutes: 24 * 60,
  businessTime: true,
  reminderAtPct: 80,
  graceMinutes: 120,
};
const policy48h: SlaPolicy = { ...policy24h, id: 'oem-campaign-48h', firstContactMinutes: 48 * 60 };

const agent: ActingPrincipal = {
  actor: { id: 'user-agent-1', role: 'showroom_consultant' },
  dealerId: 'D1',
  agentId: 'A1',
  manager: false,
};
const manager: ActingPrincipal = {
  actor: { id: 'user-manager-1', role: 'dealer_manager' },
  dealerId: 'D1',
  manager: true,
};

/**
 * A dealer calendar, 09:00–18:00 Asia/Shanghai, whose weekend is the two days after `startMs`'s local
 * date: the test server's clock starts at the real time, so the weekend is placed relative to it.
 */
function calendarWithWeekendAfter(startMs: number): BusinessCalendar {
  const weekday = new Date(startMs + SHANGHAI_MS).getUTCDay();
  const iso = weekday === 0 ? 7 : weekday;
  const closed = [(iso % 7) + 1, ((iso + 1) % 7) + 1];
  const day: OpeningHours[] = [{ start: '09:00', end: '18:00' }];
  const week: BusinessCalendar['week'] = {};
  for (let d = 1; d <= 7; d += 1) if (!closed.includes(d)) week[`${d as IsoWeekday}`] = day;
  return { timeZone: 'Asia/Shanghai', week, holidays: [] };
}

interface Ctx {
  taskQueue: string;
  leadIds: string[];
  actions: RecordedAction[];
  lifecycle: LifecycleClient;
}

async function withWorker(test: (ctx: Ctx) => Promise<void>): Promise<void> {
  const taskQueue = uniqueTaskQueue('lifecycle');
  const actions: RecordedAction[] = [];
  const leadIds: string[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: {
      recordAction: (action: RecordedAction) => {
        actions.push(action);
        return Promise.resolve();
      },
    },
  });
  const run = async () => {
    try {
      await test({
        taskQueue,
        leadIds,
        actions,
        lifecycle: createLifecycleClient({ client: env.client, taskQueue }),
      });
    } finally {
      // A workflow left running without its worker would stall the shared test server's time
      // skipping for every later test (its next timer's task could never complete).
      for (const leadId of leadIds) {
        // An approved defeat also starts the lead's nurture journey.
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

const eventsOf = (actions: RecordedAction[]): OutgoingEvent[] => actions.flatMap((a) => a.events);
const typesOf = (actions: RecordedAction[]) => eventsOf(actions).map((e) => e.type);

async function start(ctx: Ctx, policy: SlaPolicy) {
  const leadId = uniqueName('lead');
  ctx.leadIds.push(leadId);
  const allocatedAt = await env.currentTimeMs();
  const calendar = calendarWithWeekendAfter(allocatedAt);
  const input: LifecycleInput = {
    leadId,
    oemId: 'oem-1',
    assignment: {
      eventId: `${leadId}:allocated:1`,
      kind: 'allocated',
      owner: { dealerId: 'D1', agentId: 'A1', queue: 'showroom' },
      at: new Date(allocatedAt).toISOString(),
      correlationId: `corr-${leadId}`,
      attempt: 1,
      grade: 'H',
      followUpIntervalDays: 2,
      slaPolicy: policy,
      calendar,
    },
  };
  await ctx.lifecycle.startOrSignal(input);
  await waitFor(() => ctx.actions.some((a) => a.action === 'lifecycle_started'), {
    description: 'lifecycle_started',
  });
  const deadlines = slaDeadlines(policy, new Date(allocatedAt), calendar);
  return {
    leadId,
    input,
    calendar,
    deadlines,
    allocatedAt,
    handle: env.client.workflow.getHandle(lifecycleWorkflowId(leadId)),
  };
}

/** Advances the test server's clock to just after `iso` (timers in between fire in order). */
async function sleepPast(iso: string, marginMs = 60_000): Promise<void> {
  const delta = Date.parse(iso) + marginMs - (await env.currentTimeMs());
  if (delta > 0) await env.sleep(delta);
}

const inFuture = async (ms: number) => new Date((await env.currentTimeMs()) + ms).toISOString();

function rejection(error: unknown): string {
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(INVALID_TRANSITION);
  return (cause as ApplicationFailure).message;
}

describe.each([
  ['24 h', policy24h],
  ['48 h', policy48h],
])('first-contact SLA of %s on a dealer calendar with a weekend', (_name, policy) => {
  it('is breached: reminder at 80 %, overdue at 100 % with the supervisor notified, reassignment after the grace', async () => {
    await withWorker(async (ctx) => {
      const { leadId, deadlines, allocatedAt, calendar } = await start(ctx, policy);
      const started = eventsOf(ctx.actions).find((e) => e.type === 'lead.lifecycle_started');
      expect(started?.id).toBe(`lead-${leadId}-started-1`);
      expect(started?.type === 'lead.lifecycle_started' && started.data.firstContactDueAt).toBe(
        deadlines.dueAt,
      );
      // The weekend does not count: the deadline is at least two closed days beyond wall-clock time.
      expect(Date.parse(deadlines.dueAt) - allocatedAt).toBeGreaterThan(
        policy.firstContactMinutes * 60_000 + 48 * HOUR_MS,
      );
      expect(deadlines.dueAt).toBe(
        addBusinessMinutes(new Date(allocatedAt), policy.firstContactMinutes, calendar).toISOString(),
      );

      await sleepPast(deadlines.reassignAt);
      await waitFor(() => typesOf(ctx.actions).includes('lead.reassignment_requested'), {
        description: 'reassignment request',
      });

      expect(typesOf(ctx.actions)).toEqual([
        'lead.lifecycle_started',
        'lead.sla_reminder',
        'lead.sla_breached',
        'lead.sla_breached',
        'lead.reassignment_requested',
      ]);
      const [, reminder, overdue, reassign, request] = eventsOf(ctx.actions);
      expect(reminder).toMatchObject({
        id: `lead-${leadId}-sla-first_contact-1-reminder`,
        data: { milestone: 'first_contact', elapsedPct: 80, dueAt: deadlines.dueAt },
      });
      expect(overdue).toMatchObject({
        id: `lead-${leadId}-sla-first_contact-1-overdue`,
        data: { escalation: 'overdue', supervisorNotified: true },
      });
      expect(reassign).toMatchObject({ data: { escalation: 'reassign' } });
      expect(request).toMatchObject({
        id: `lead-${leadId}-sla-first_contact-1-reassignment_requested`,
        type: 'lead.reassignment_requested',
        data: { reason: 'sla_breach', target: 'dcc', excludeAgentIds: ['A1'], dealerId: 'D1' },
      });
      // Each rung fired at its own time on the workflow clock, never early.
      const at = (action: string) => Date.parse(ctx.actions.find((a) => a.action === action)?.at ?? '');
      expect(at('sla_reminder')).toBeGreaterThanOrEqual(Date.parse(deadlines.reminderAt));
      expect(at('sla_reminder')).toBeLessThan(Date.parse(deadlines.dueAt));
      expect(at('sla_breached')).toBeGreaterThanOrEqual(Date.parse(deadlines.dueAt));
      expect(at('sla_breached')).toBeLessThan(Date.parse(deadlines.reassignAt));
      expect(at('reassignment_requested')).toBeGreaterThanOrEqual(Date.parse(deadlines.reassignAt));

      // Allocation moves the lead: the new owner gets a fresh first-contact clock.
      const reassignedAt = await inFuture(0);
      await env.client.workflow.getHandle(lifecycleWorkflowId(leadId)).signal(assignmentSignal, {
        eventId: `${leadId}:reassigned:2`,
        kind: 'reassigned',
        owner: { dealerId: 'D1', agentId: 'A2', queue: 'dcc' },
        at: reassignedAt,
        correlationId: 'corr-2',
        attempt: 2,
        calendar,
      });
      await waitFor(() => eventsOf(ctx.actions).some((e) => e.id === `lead-${leadId}-started-2`), {
        description: 'second clock',
      });
      const state = await env.client.workflow.getHandle(lifecycleWorkflowId(leadId)).query(stateQuery);
      expect(state.owner.agentId).toBe('A2');
      expect(state.firstContact.deadlines.dueAt).toBe(
        slaDeadlines(policy, new Date(reassignedAt), calendar).dueAt,
      );
    });
  });

  it('is met by a follow-up after the weekend, before the deadline, and nothing escalates afterwards', async () => {
    await withWorker(async (ctx) => {
      const { leadId, deadlines, handle, calendar } = await start(ctx, policy);
      await sleepPast(deadlines.reminderAt);
      await waitFor(() => typesOf(ctx.actions).includes('lead.sla_reminder'), { description: 'reminder' });

      const contactedAt = await inFuture(0);
      const result = await handle.executeUpdate(followUpUpdate, {
        args: [
          {
            by: agent,
            method: 'phone',
            outcome: 'invited',
            nextFollowUpAt: await inFuture(24 * HOUR_MS),
            purpose: 'test_drive',
            timeframe: '两周内',
            correlationId: 'corr-follow-up',
          },
        ],
      });
      expect(result).toMatchObject({
        status: 'pending_re_follow_up',
        statusBefore: 'pending_first_follow_up',
        firstContact: { withinSla: true, dueAt: deadlines.dueAt },
      });
      const followedUp = eventsOf(ctx.actions).find((e) => e.type === 'lead.followed_up');
      expect(followedUp).toMatchObject({
        id: `lead-${leadId}-follow_up-1`,
        data: {
          first: true,
          outcome: 'invited',
          purpose: 'test_drive_invitation',
          intent: { timeframe: '两周内' },
          actor: agent.actor,
        },
      });
      const met = eventsOf(ctx.actions).find((e) => e.type === 'lead.sla_met');
      expect(met?.id).toBe(`lead-${leadId}-sla-first_contact-1-met`);
      const elapsed = elapsedSlaMinutes(
        policy,
        new Date(deadlines.startedAt),
        new Date(met?.type === 'lead.sla_met' ? met.data.metAt : ''),
        calendar,
      );
      expect(met).toMatchObject({
        data: { milestone: 'first_contact', dueAt: deadlines.dueAt, elapsedBusinessMinutes: elapsed },
      });
      // The reminder fired at 80 %, so at least 80 % of the business minutes were used.
      expect(elapsed).toBeGreaterThanOrEqual(Math.floor(policy.firstContactMinutes * 0.8));
      expect(Date.parse(contactedAt)).toBeLessThanOrEqual(Date.parse(deadlines.dueAt));

      await sleepPast(deadlines.reassignAt);
      const firstContactEscalations = eventsOf(ctx.actions).filter(
        (e) =>
          e.type === 'lead.reassignment_requested' ||
          (e.type === 'lead.sla_breached' && e.data.milestone === 'first_contact'),
      );
      expect(firstContactEscalations).toEqual([]);
    });
  });
});

describe('follow-up cadence', () => {
  it('flags an overdue follow-up once, at the planned time', async () => {
    await withWorker(async (ctx) => {
      const { leadId, handle } = await start(ctx, policy24h);
      const nextFollowUpAt = await inFuture(6 * HOUR_MS);
      await handle.executeUpdate(followUpUpdate, {
        args: [
          {
            by: agent,
            method: 'phone',
            outcome: 'callback_requested',
            nextFollowUpAt,
            purpose: 'materials',
            correlationId: 'c',
          },
        ],
      });
      await sleepPast(nextFollowUpAt);
      await waitFor(() => typesOf(ctx.actions).includes('lead.sla_breached'), {
        description: 'follow-up overdue',
      });
      const overdue = eventsOf(ctx.actions).filter((e) => e.type === 'lead.sla_breached');
      expect(overdue).toMatchObject([
        {
          id: `lead-${leadId}-sla-follow_up-1-overdue`,
          data: { milestone: 'follow_up', dueAt: nextFollowUpAt },
        },
      ]);
    });
  });
});

describe('allocation redelivery', () => {
  it('never starts a second workflow nor re-announces the start', async () => {
    await withWorker(async (ctx) => {
      const { input, leadId } = await start(ctx, policy24h);
      expect(await ctx.lifecycle.startOrSignal(input)).toBe('started_or_signalled');
      expect(await ctx.lifecycle.startOrSignal(input)).toBe('started_or_signalled');
      const state = await ctx.lifecycle.state(leadId);
      expect(state?.appliedEventIds).toEqual([input.assignment.eventId]);
      expect(typesOf(ctx.actions).filter((t) => t === 'lead.lifecycle_started')).toHaveLength(1);
    });
  });
});

describe('defeat requests', () => {
  const detail = {
    reason: 'bought_competitor' as const,
    competitorBrand: 'Toyota',
    description: 'bought a RAV4 after our price quote',
  };

  async function requestDefeat(ctx: Ctx) {
    const started = await start(ctx, policy24h);
    const result = await started.handle.executeUpdate(defeatRequestUpdate, {
      args: [{ by: agent, detail, correlationId: 'c' }],
    });
    expect(result).toMatchObject({
      status: 'defeat_requested',
      statusBefore: 'pending_first_follow_up',
      requestId: `lead-${started.leadId}-defeat-1`,
    });
    return started;
  }

  it('approve: the lead is defeated and its lifecycle closes', async () => {
    await withWorker(async (ctx) => {
      const { handle, leadId, input } = await requestDefeat(ctx);
      const result = await handle.executeUpdate(defeatDecisionUpdate, {
        args: [{ by: manager, decision: 'approve', note: 'confirmed', correlationId: 'c' }],
      });
      expect(result.status).toBe('defeated');
      const final = await handle.result();
      expect(final.status).toBe('defeated');
      const lifecycle = ctx.actions.filter((a) => a.id.startsWith(`lead-${leadId}-`));
      expect(typesOf(lifecycle)).toEqual([
        'lead.lifecycle_started',
        'lead.defeat_requested',
        'lead.defeat_approved',
      ]);
      // The defeated lead entered its nurture journey, a workflow of its own that outlives this one.
      await waitFor(() => typesOf(ctx.actions).includes('lead.nurture_enrolled'), {
        description: 'enrolment',
      });
      expect(eventsOf(ctx.actions)[2]).toMatchObject({
        id: `lead-${leadId}-defeat-1-approved`,
        data: { reason: 'bought_competitor', actor: manager.actor },
      });
      // A closed lifecycle is not restarted by a redelivered allocation.
      const again = {
        ...input,
        assignment: { ...input.assignment, eventId: `${leadId}:allocated:2`, attempt: 2 },
      };
      expect(await ctx.lifecycle.startOrSignal(again)).toBe('closed');
    });
  });

  it('reject: back to following up with the new plan, whose due date then applies', async () => {
    await withWorker(async (ctx) => {
      const { handle, leadId } = await requestDefeat(ctx);
      const nextFollowUpAt = await inFuture(2 * HOUR_MS);
      const result = await handle.executeUpdate(defeatDecisionUpdate, {
        args: [
          {
            by: manager,
            decision: 'reject',
            nextFollowUpAt,
            note: 'call again with the new offer',
            correlationId: 'c',
          },
        ],
      });
      expect(result).toMatchObject({ status: 'pending_first_follow_up', statusBefore: 'defeat_requested' });
      expect(eventsOf(ctx.actions).at(-1)).toMatchObject({
        id: `lead-${leadId}-defeat-1-rejected`,
        type: 'lead.defeat_rejected',
        data: { nextFollowUpAt },
      });
      const state = await handle.query(stateQuery);
      expect(state.nextFollowUp?.dueAt).toBe(nextFollowUpAt);
      expect(state.pendingDefeat).toBeUndefined();
      // Following up works again.
      await handle.executeUpdate(followUpUpdate, {
        args: [
          {
            by: agent,
            method: 'phone',
            outcome: 'connected',
            nextFollowUpAt: await inFuture(HOUR_MS),
            purpose: 'other',
            correlationId: 'c',
          },
        ],
      });
    });
  });

  it('reassign: defeat rescue asks allocation to give the lead to another colleague', async () => {
    await withWorker(async (ctx) => {
      const { handle, leadId } = await requestDefeat(ctx);
      const result = await handle.executeUpdate(defeatDecisionUpdate, {
        args: [{ by: manager, decision: 'reassign', toAgentId: 'A7', correlationId: 'c' }],
      });
      expect(result.status).toBe('pending_first_follow_up');
      expect(eventsOf(ctx.actions).slice(-2)).toMatchObject([
        {
          id: `lead-${leadId}-defeat-1-rescued`,
          type: 'lead.defeat_rescued',
          data: { toAgentId: 'A7', agentId: 'A1' },
        },
        {
          id: `lead-${leadId}-defeat-1-reassignment_requested`,
          type: 'lead.reassignment_requested',
          data: { reason: 'defeat_rescue', target: 'agent', toAgentId: 'A7' },
        },
      ]);
    });
  });

  it('rejects actions the state does not allow, saying why', async () => {
    await withWorker(async (ctx) => {
      const { handle } = await start(ctx, policy24h);
      const noRequest = await handle
        .executeUpdate(defeatDecisionUpdate, {
          args: [{ by: manager, decision: 'approve', correlationId: 'c' }],
        })
        .catch((e: unknown) => e);
      expect(rejection(noRequest)).toMatch(/no pending defeat request/);

      await handle.executeUpdate(defeatRequestUpdate, { args: [{ by: agent, detail, correlationId: 'c' }] });
      const followUp = await handle
        .executeUpdate(followUpUpdate, {
          args: [
            {
              by: agent,
              method: 'phone',
              outcome: 'connected',
              nextFollowUpAt: await inFuture(HOUR_MS),
              purpose: 'other',
              correlationId: 'c',
            },
          ],
        })
        .catch((e: unknown) => e);
      expect(rejection(followUp)).toMatch(/waiting for the manager/);
      const byAgent = await handle
        .executeUpdate(defeatDecisionUpdate, {
          args: [{ by: agent, decision: 'approve', correlationId: 'c' }],
        })
        .catch((e: unknown) => e);
      expect(rejection(byAgent)).toMatch(/manager/);
      // Rejected updates leave no trace: only the start and the request were recorded.
      expect(typesOf(ctx.actions)).toEqual(['lead.lifecycle_started', 'lead.defeat_requested']);
    });
  });
});
