import { connectMongo } from '@leadflow/platform/mongo';
import { createLogger } from '@leadflow/platform/logger';
import { waitFor } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName, uniqueTaskQueue } from '@leadflow/testkit/names';
import { Worker } from '@temporalio/worker';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointmentTimes } from '../src/domain/appointments.js';
import type { MessageProvider, ProviderMessage } from '../src/messaging/message-provider.js';
import { createContactRepository } from '../src/repositories/contact.repository.js';
import { createMessageRepository } from '../src/repositories/message.repository.js';
import type { RecordedAction } from '../src/temporal/activities/lifecycle.activities.js';
import { createMessagingActivities } from '../src/temporal/activities/messaging.activities.js';
import { createLifecycleClient } from '../src/temporal/lifecycle-client.js';
import {
  bookAppointmentUpdate,
  lifecycleWorkflowId,
  stateQuery,
} from '../src/temporal/workflows/lead-lifecycle.definitions.js';
import type { leadLifecycleWorkflow } from '../src/temporal/workflows/lead-lifecycle.workflow.js';
import {
  agent,
  createHarness,
  eventsOf,
  everyDay,
  inputFor,
  localTimeInDays,
  sleepPast,
  type Harness,
} from './support/time-skipping.js';

// A worker stopped mid-lifecycle and a new one started: every timer that came due while no worker ran
// still fires, once, and no message goes out twice. The messaging activity is the real one (FerretDB
// records each message before the provider is called); the provider counts every call it gets.

let harness: Harness;
let mongo: Connection;

beforeAll(async () => {
  harness = await createHarness();
  mongo = await connectMongo({
    url: infraAddresses().mongoUrl,
    dbName: uniqueDb('nurturing_restart'),
    logger: createLogger({ service: 'test', version: '0', level: 'warn' }),
  });
}, 120_000);

afterAll(async () => {
  await mongo?.close();
  await harness?.env.teardown();
});

describe('a worker killed mid-lifecycle', () => {
  it('resumes on a new worker with no timer lost and no message sent twice', async () => {
    const { env, bundle } = harness;
    const taskQueue = uniqueTaskQueue('restart');
    const oemId = 'oem-1';
    const leadId = uniqueName('lead');
    const contacts = createContactRepository({ connection: mongo });
    const messages = createMessageRepository({ connection: mongo });
    await contacts.saveCustomer({
      oemId,
      leadId,
      customerId: uniqueName('cust'),
      mobileE164: '+8613812345678',
    });
    await contacts.saveAgent({ oemId, dealerId: 'D1', agentId: 'A1', mobileE164: '+8613900000001' });

    // Every call reaches this list: a resend after the restart would show up as a repeated key.
    const calls: ProviderMessage[] = [];
    const provider: MessageProvider = {
      name: 'counting',
      channel: 'sms',
      dedupesByKey: false,
      send(message) {
        calls.push(message);
        return Promise.resolve({ providerMessageId: `p-${calls.length}` });
      },
    };
    const actions: RecordedAction[] = [];
    const newWorker = () =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        // No workflow cache, hence no sticky queue: every task replays the history from the start
        // (the strongest test of "replay sends nothing"), and the dead worker's sticky queue does not
        // hold the task the test server's time skipping waits for.
        maxCachedWorkflows: 0,
        activities: {
          recordAction: (action: RecordedAction) => {
            actions.push(action);
            return Promise.resolve();
          },
          ...createMessagingActivities({ contacts, messages, providers: { sms: provider }, frequencyCap: 2 }),
        },
      });
    const lifecycle = createLifecycleClient({ client: env.client, taskQueue });
    const handle = env.client.workflow.getHandle<typeof leadLifecycleWorkflow>(lifecycleWorkflowId(leadId));
    let scheduledAt = '';
    let bookedAt = '';

    try {
      // Worker 1: the lead starts and an appointment is booked; the booking messages go out.
      const first = await newWorker();
      await first.runUntil(async () => {
        await lifecycle.startOrSignal({ ...inputFor(leadId, await env.currentTimeMs()), oemId });
        scheduledAt = await localTimeInDays(harness, 3, '15:00');
        await handle.executeUpdate(bookAppointmentUpdate, {
          args: [{ by: agent, kind: 'visit', scheduledAt, correlationId: 'c' }],
        });
        await waitFor(() => eventsOf(actions).filter((e) => e.type === 'lead.message_sent').length === 2, {
          description: 'booking messages sent',
        });
        bookedAt = (await handle.query(stateQuery)).appointment?.bookedAt ?? '';
      });
      expect(first.getState()).toBe('STOPPED');
      expect(calls).toHaveLength(2);

      // No worker: the clock moves on to the day-before reminder, whose timer fires with nobody
      // polling (the test server holds time there until a worker takes the workflow task).
      const times = appointmentTimes({ scheduledAt, bookedAt }, everyDay);
      expect(times.dayBeforeAt).toBeDefined();
      const skipping = sleepPast(harness, times.morningOfAt ?? '');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(eventsOf(actions).filter((e) => e.type === 'lead.appointment_reminded')).toEqual([]);

      // Worker 2: picks up the history, fires both rungs once, sends each message once.
      const second = await newWorker();
      await second.runUntil(async () => {
        await skipping;
        await waitFor(() => eventsOf(actions).filter((e) => e.type === 'lead.message_sent').length === 5, {
          description: 'reminder and confirmation sent after the restart',
          timeoutMs: 30_000,
        });
        // A replay of the whole history on this worker (the query) re-sends nothing.
        await handle.query(stateQuery);
      });

      const reminded = eventsOf(actions).filter((e) => e.type === 'lead.appointment_reminded');
      expect(reminded.map((e) => e.id)).toEqual([
        `lead-${leadId}-appointment-1-r0-day_before`,
        `lead-${leadId}-appointment-1-r0-morning_of`,
      ]);
      // The first-contact ladder, never answered, also came due while no worker ran: all of it fired.
      expect(
        actions.map((a) => a.action).filter((a) => a.startsWith('sla_') || a.startsWith('reassign')),
      ).toEqual(['sla_reminder', 'sla_breached', 'reassignment_requested']);
      const keys = calls.map((c) => c.idempotencyKey.replace(`lead-${leadId}-`, ''));
      expect(keys).toEqual([
        'appointment-1-booked-customer',
        'appointment-1-booked-agent',
        'appointment-1-r0-day_before-customer',
        'appointment-1-r0-day_before-agent',
        'appointment-1-r0-morning_of-customer',
      ]);
      const stored = await messages.forLead({ oemId, leadId });
      expect(stored.map((m) => [m.status, m.attempts])).toEqual(Array(5).fill(['sent', 1]));
      // The reminders fired on time: never before they were due.
      const at = (action: string) => Date.parse(actions.find((a) => a.action === action)?.at ?? '');
      expect(at('appointment_day_before')).toBeGreaterThanOrEqual(Date.parse(times.dayBeforeAt ?? ''));
      expect(at('appointment_morning_of')).toBeGreaterThanOrEqual(Date.parse(times.morningOfAt ?? ''));
    } finally {
      await handle.terminate('test finished').catch(() => undefined);
    }
  });
});
