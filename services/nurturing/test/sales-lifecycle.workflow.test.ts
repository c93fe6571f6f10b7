import { waitFor } from '@leadflow/testkit/events';
import { AppError } from '@leadflow/platform/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointmentTimes } from '../src/domain/appointments.js';
import {
  bookAppointmentUpdate,
  cancelAppointmentUpdate,
  changeAppointmentUpdate,
  followUpUpdate,
  orderUpdate,
  stateQuery,
  testDriveUpdate,
  visitUpdate,
  wonUpdate,
  type FollowUpInput,
} from '../src/temporal/workflows/lead-lifecycle.definitions.js';
import {
  agent,
  createHarness,
  DAY_MS,
  eventsOf,
  everyDay,
  HOUR_MS,
  inFuture,
  localTimeInDays,
  rejection,
  sleepPast,
  startLead,
  typesOf,
  withWorker,
  type Harness,
} from './support/time-skipping.js';

// Appointments, visits, test drives, orders, deals and lost contact on the time-skipping server: a
// reminder 24 h before and a confirmation on the morning of fire on the workflow clock in seconds.

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness();
}, 120_000);

afterAll(async () => {
  await harness?.env.teardown();
});

const followUp = async (outcome: FollowUpInput['outcome']): Promise<FollowUpInput> => ({
  by: agent,
  method: 'phone',
  outcome,
  nextFollowUpAt: await inFuture(harness, 12 * HOUR_MS),
  purpose: 'test_drive',
  correlationId: 'c',
});

const stepsOf = (messages: { messageId: string }[], leadId: string) =>
  messages.map((m) => m.messageId.replace(`lead-${leadId}-`, ''));

// Kept first: on the time-skipping test server, a test that ends right after rejected updates can
// leave time skipping held for the next test's sleep without pending timers (the "rejects" test last).
describe('lost contact (L)', () => {
  it('follows three unreachable follow-ups in a row; reaching the customer again reopens the lead', async () => {
    await withWorker(harness, async (ctx) => {
      const { leadId, handle } = await startLead(harness, ctx);
      const r1 = await handle.executeUpdate(followUpUpdate, { args: [await followUp('no_answer')] });
      const r2 = await handle.executeUpdate(followUpUpdate, { args: [await followUp('busy')] });
      expect([r1.lostContact, r2.lostContact, r2.status]).toEqual([
        undefined,
        undefined,
        'pending_re_follow_up',
      ]);
      const r3 = await handle.executeUpdate(followUpUpdate, { args: [await followUp('no_answer')] });
      expect(r3).toMatchObject({ status: 'lost_contact', lostContact: true });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.lost_contact')).toMatchObject({
        id: `lead-${leadId}-follow_up-3-lost_contact`,
        data: { attempts: 3, actor: agent.actor, dealerId: 'D1', agentId: 'A1' },
      });
      expect(ctx.actions.at(-1)).toMatchObject({
        action: 'lost_contact',
        statusBefore: 'pending_re_follow_up',
        statusAfter: 'lost_contact',
      });
      // No overdue breach is raised against a lost lead.
      await harness.env.sleep(DAY_MS);
      expect(
        eventsOf(ctx.actions).filter(
          (e) => e.type === 'lead.sla_breached' && e.data.milestone === 'follow_up',
        ),
      ).toEqual([]);
      const back = await handle.executeUpdate(followUpUpdate, { args: [await followUp('connected')] });
      expect(back).toMatchObject({ status: 'pending_re_follow_up', statusBefore: 'lost_contact' });
      expect((await handle.query(stateQuery)).consecutiveMisses).toBe(0);
    });
  });
});

describe('appointment to deal', () => {
  it('books, reminds 24 h before, confirms that morning, and runs visit → test drive → order → won', async () => {
    await withWorker(harness, async (ctx) => {
      const { leadId, handle } = await startLead(harness, ctx);
      await handle.executeUpdate(followUpUpdate, { args: [await followUp('invited')] });
      const scheduledAt = await localTimeInDays(harness, 3, '15:00');
      const booked = await handle.executeUpdate(bookAppointmentUpdate, {
        args: [{ by: agent, kind: 'test_drive', scheduledAt, receiverAgentId: 'A9', correlationId: 'c' }],
      });
      const appointmentId = `lead-${leadId}-appointment-1`;
      expect(booked).toMatchObject({
        status: 'invited',
        statusBefore: 'pending_re_follow_up',
        appointmentId,
      });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.appointment_booked')).toMatchObject({
        id: `${appointmentId}-booked`,
        data: { appointmentId, scheduledAt, kind: 'test_drive', receiverAgentId: 'A9', actor: agent.actor },
      });
      // The customer and the receiving colleague are told at once.
      await waitFor(() => ctx.messages.length === 2, { description: 'booking messages' });
      expect(ctx.messages).toMatchObject([
        { recipient: 'customer', template: 'appointment_booked_customer', purpose: 'appointment_booked' },
        { recipient: 'agent', recipientId: 'A9', template: 'appointment_booked_agent' },
      ]);
      expect(ctx.messages[0]?.values).toMatchObject({ scheduledAt, kind: 'test_drive' });
      await waitFor(() => typesOf(ctx.actions).filter((t) => t === 'lead.message_sent').length === 2, {
        description: 'message_sent events',
      });

      const state = await handle.query(stateQuery);
      const times = appointmentTimes(state.appointment ?? { scheduledAt, bookedAt: scheduledAt }, everyDay);
      expect(times.dayBeforeAt).toBe(new Date(Date.parse(scheduledAt) - DAY_MS).toISOString());

      await sleepPast(harness, times.dayBeforeAt ?? '');
      await waitFor(() => ctx.messages.length === 4, { description: 'day-before reminders' });
      const dayBefore = eventsOf(ctx.actions).find((e) => e.type === 'lead.appointment_reminded');
      expect(dayBefore).toMatchObject({
        id: `lead-${leadId}-appointment-1-r0-day_before`,
        data: { reminder: 'day_before', recipients: ['customer', 'agent'], appointmentId },
      });
      const remindedAt = Date.parse(ctx.actions.find((a) => a.action === 'appointment_day_before')?.at ?? '');
      expect(remindedAt).toBeGreaterThanOrEqual(Date.parse(times.dayBeforeAt ?? ''));
      expect(remindedAt).toBeLessThan(Date.parse(times.morningOfAt ?? ''));

      await sleepPast(harness, times.morningOfAt ?? '');
      await waitFor(() => ctx.messages.length === 5, { description: 'morning confirmation' });
      expect(ctx.messages[4]).toMatchObject({
        recipient: 'customer',
        template: 'appointment_confirmation_customer',
        purpose: 'appointment_confirmation',
      });
      expect(stepsOf(ctx.messages, leadId)).toEqual([
        'appointment-1-booked-customer',
        'appointment-1-booked-agent',
        'appointment-1-r0-day_before-customer',
        'appointment-1-r0-day_before-agent',
        'appointment-1-r0-morning_of-customer',
      ]);

      const visited = await handle.executeUpdate(visitUpdate, { args: [{ by: agent, correlationId: 'c' }] });
      expect(visited).toMatchObject({ status: 'arrived', statusBefore: 'invited' });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.visited')).toMatchObject({
        id: `lead-${leadId}-visit-1`,
        data: { invited: true, firstVisit: true, appointmentId },
      });
      // The visit honoured the appointment: no no-show once its time has passed.
      await sleepPast(harness, times.noShowAt);
      expect(typesOf(ctx.actions)).not.toContain('lead.appointment_no_show');

      await handle.executeUpdate(testDriveUpdate, {
        args: [{ by: agent, series: 'H6', appointmentId, correlationId: 'c' }],
      });
      const ordered = await handle.executeUpdate(orderUpdate, {
        args: [{ by: agent, orderId: 'O-1', amountCny: 150_000, series: 'H6', correlationId: 'c' }],
      });
      expect(ordered).toMatchObject({ status: 'ordered', statusBefore: 'arrived' });
      const won = await handle.executeUpdate(wonUpdate, { args: [{ by: agent, correlationId: 'c' }] });
      expect(won).toMatchObject({ status: 'won', statusBefore: 'ordered', eventIds: [`lead-${leadId}-won`] });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.won')).toMatchObject({
        data: { orderId: 'O-1' },
      });
      const result = await handle.result();
      expect(result.status).toBe('won');
      expect(result.history.map((h) => [h.action, h.statusBefore, h.statusAfter])).toEqual(
        expect.arrayContaining([
          ['appointment_booked', 'pending_re_follow_up', 'invited'],
          ['visited', 'invited', 'arrived'],
          ['test_driven', 'arrived', 'arrived'],
          ['ordered', 'arrived', 'ordered'],
          ['won', 'ordered', 'won'],
        ]),
      );

      // The lifecycle is over: a late action is a conflict that says so, not a missing lead.
      const late = await ctx.lifecycle
        .update(leadId, testDriveUpdate, { by: agent, correlationId: 'c' })
        .catch((e: unknown) => e);
      expect(late).toBeInstanceOf(AppError);
      expect((late as AppError).message).toMatch(/closed \(won\)/);
    });
  });

  it('a no-show sends the lead back to re-follow-up, whose due date then applies', async () => {
    await withWorker(harness, async (ctx) => {
      const { leadId, handle } = await startLead(harness, ctx);
      await handle.executeUpdate(followUpUpdate, { args: [await followUp('invited')] });
      const scheduledAt = await localTimeInDays(harness, 2, '10:00');
      await handle.executeUpdate(bookAppointmentUpdate, {
        args: [{ by: agent, kind: 'visit', scheduledAt, correlationId: 'c' }],
      });
      const times = appointmentTimes(
        { scheduledAt, bookedAt: new Date(await harness.env.currentTimeMs()).toISOString() },
        everyDay,
      );
      await sleepPast(harness, times.noShowAt);
      await waitFor(() => typesOf(ctx.actions).includes('lead.appointment_no_show'), {
        description: 'no-show',
      });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.appointment_no_show')).toMatchObject({
        id: `lead-${leadId}-appointment-1-r0-no_show`,
        data: { appointmentId: `lead-${leadId}-appointment-1`, scheduledAt },
      });
      const noShow = ctx.actions.find((a) => a.action === 'appointment_no_show');
      expect(noShow).toMatchObject({ statusBefore: 'invited', statusAfter: 'pending_re_follow_up' });
      expect(Date.parse(noShow?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(times.noShowAt));
      const state = await handle.query(stateQuery);
      expect(state.status).toBe('pending_re_follow_up');
      expect(state.appointment).toBeUndefined();
      const dueAt = state.nextFollowUp?.dueAt ?? '';
      expect(Date.parse(dueAt) - Date.parse(noShow?.at ?? '')).toBe(DAY_MS);

      // The re-invite call is due a day later; missing it is a follow-up breach like any other.
      await sleepPast(harness, dueAt);
      await waitFor(
        () =>
          eventsOf(ctx.actions).some(
            (e) => e.type === 'lead.sla_breached' && e.data.milestone === 'follow_up',
          ),
        { description: 'follow-up overdue' },
      );
    });
  });

  it('a moved appointment is reminded at its new time only; a cancelled one not at all', async () => {
    await withWorker(harness, async (ctx) => {
      const { leadId, handle } = await startLead(harness, ctx);
      const appointmentId = `lead-${leadId}-appointment-1`;
      const first = await localTimeInDays(harness, 3, '15:00');
      await handle.executeUpdate(bookAppointmentUpdate, {
        args: [{ by: agent, kind: 'visit', scheduledAt: first, correlationId: 'c' }],
      });
      const moved = await localTimeInDays(harness, 5, '11:00');
      const changed = await handle.executeUpdate(changeAppointmentUpdate, {
        args: [
          { by: agent, appointmentId, scheduledAt: moved, reason: 'customer asked', correlationId: 'c' },
        ],
      });
      expect(changed).toMatchObject({ status: 'invited', appointmentId });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.appointment_changed')).toMatchObject({
        data: { scheduledAt: moved, previousScheduledAt: first },
      });

      await sleepPast(harness, new Date(Date.parse(first) - DAY_MS).toISOString());
      expect(eventsOf(ctx.actions).filter((e) => e.type === 'lead.appointment_reminded')).toEqual([]);
      await sleepPast(harness, new Date(Date.parse(moved) - DAY_MS).toISOString());
      await waitFor(() => typesOf(ctx.actions).includes('lead.appointment_reminded'), {
        description: 'reminder',
      });
      expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.appointment_reminded')?.id).toBe(
        `lead-${leadId}-appointment-1-r1-day_before`,
      );

      const cancelled = await handle.executeUpdate(cancelAppointmentUpdate, {
        args: [{ by: agent, appointmentId, reason: 'car not available', correlationId: 'c' }],
      });
      expect(cancelled).toMatchObject({ status: 'pending_re_follow_up', statusBefore: 'invited' });
      await sleepPast(harness, moved, 3 * HOUR_MS);
      const after = typesOf(ctx.actions);
      expect(after.filter((t) => t === 'lead.appointment_reminded')).toHaveLength(1);
      expect(after).not.toContain('lead.appointment_no_show');
      await waitFor(() => ctx.messages.some((m) => m.template === 'appointment_cancelled_customer'), {
        description: 'cancellation message',
      });
    });
  });

  it('rejects milestones out of order, saying why, and leaves no trace of them', async () => {
    await withWorker(harness, async (ctx) => {
      const { leadId, handle } = await startLead(harness, ctx);
      const attempt = async (p: Promise<unknown>) => rejection(await p.catch((e: unknown) => e));
      expect(
        await attempt(handle.executeUpdate(testDriveUpdate, { args: [{ by: agent, correlationId: 'c' }] })),
      ).toMatch(/not arrived/);
      expect(
        await attempt(
          handle.executeUpdate(orderUpdate, { args: [{ by: agent, orderId: 'O', correlationId: 'c' }] }),
        ),
      ).toMatch(/not arrived/);
      expect(
        await attempt(handle.executeUpdate(wonUpdate, { args: [{ by: agent, correlationId: 'c' }] })),
      ).toMatch(/visit or an order/);
      expect(
        await attempt(
          handle.executeUpdate(visitUpdate, {
            args: [{ by: agent, visitedAt: await inFuture(harness, HOUR_MS), correlationId: 'c' }],
          }),
        ),
      ).toMatch(/future/);
      expect(
        await attempt(
          handle.executeUpdate(cancelAppointmentUpdate, {
            args: [{ by: agent, appointmentId: `lead-${leadId}-appointment-1`, correlationId: 'c' }],
          }),
        ),
      ).toMatch(/no open appointment/);
      const scheduledAt = await inFuture(harness, 2 * DAY_MS);
      await handle.executeUpdate(bookAppointmentUpdate, {
        args: [{ by: agent, kind: 'visit', scheduledAt, correlationId: 'c' }],
      });
      expect(
        await attempt(
          handle.executeUpdate(bookAppointmentUpdate, {
            args: [{ by: agent, kind: 'visit', scheduledAt, correlationId: 'c' }],
          }),
        ),
      ).toMatch(/already open/);
      expect(
        await attempt(
          handle.executeUpdate(changeAppointmentUpdate, {
            args: [
              {
                by: { ...agent, agentId: 'A2' },
                appointmentId: `lead-${leadId}-appointment-1`,
                scheduledAt,
                correlationId: 'c',
              },
            ],
          }),
        ),
      ).toMatch(/someone else/);
      expect(typesOf(ctx.actions).filter((t) => !t.startsWith('lead.message'))).toEqual([
        'lead.lifecycle_started',
        'lead.appointment_booked',
      ]);
    });
  });
});
