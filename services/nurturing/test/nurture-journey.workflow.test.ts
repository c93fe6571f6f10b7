import { waitFor } from '@leadflow/testkit/events';
import { uniqueName } from '@leadflow/testkit/names';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMonths,
  pickMaterial,
  REVERIFY_GRACE_DAYS,
  type MaterialKind,
} from '../src/domain/nurture-journey.js';
import type { NurtureActivities } from '../src/temporal/activities/nurture.activities.js';
import {
  defeatDecisionUpdate,
  defeatRequestUpdate,
} from '../src/temporal/workflows/lead-lifecycle.definitions.js';
import {
  handBackUpdate,
  journeyQuery,
  journeyWorkflowId,
  NURTURE_JOURNEY_WORKFLOW,
  reverifyUpdate,
  type JourneyInput,
} from '../src/temporal/workflows/nurture-journey.definitions.js';
import type { nurtureJourneyWorkflow } from '../src/temporal/workflows/nurture-journey.workflow.js';
import {
  agent,
  createHarness,
  DAY_MS,
  eventsOf,
  sleepPast,
  startLead,
  typesOf,
  withWorker,
  type Ctx,
  type Harness,
} from './support/time-skipping.js';

// A nurture journey on the time-skipping server: six months of cadence and re-verification in seconds.

let harness: Harness;

beforeAll(async () => {
  harness = await createHarness();
}, 120_000);

afterAll(async () => {
  await harness?.env.teardown();
});

const kinds: MaterialKind[] = ['model_comparison', 'buying_guide', 'test_drive_report', 'event', 'offer'];
const library = Array.from({ length: 15 }, (_, i) => ({
  materialId: `m${String(i + 1).padStart(2, '0')}`,
  kind: kinds[i % kinds.length] ?? 'offer',
  title: `Material ${i + 1}`,
  url: `https://oem.example/m${i + 1}`,
  tags: i % 3 === 0 ? ['suv', 'family'] : ['sedan'],
}));

/** The library double: the real choice ({@link pickMaterial}) over an in-memory library. */
const nurture: NurtureActivities = {
  chooseMaterial: ({ tags, sentIds, previousKind }) =>
    Promise.resolve(pickMaterial(library, tags, sentIds, previousKind)),
};

const manager = { actor: { id: 'u-dcc', role: 'dcc_manager' as const }, dealerId: 'D1', manager: true };

async function startJourney(ctx: Ctx, horizon: JourneyInput['horizon']) {
  const leadId = uniqueName('lead');
  ctx.leadIds.push(leadId);
  const input: JourneyInput = {
    leadId,
    oemId: 'oem-1',
    reason: 'low_intent',
    horizon,
    tags: ['suv'],
    firstCallAt: new Date(await harness.env.currentTimeMs()).toISOString(),
    timeZone: 'Asia/Shanghai',
    enrolledBy: { id: 'u-cc', role: 'oem_call_center' },
    correlationId: `corr-${leadId}`,
  };
  const handle = await harness.env.client.workflow.start<typeof nurtureJourneyWorkflow>(
    NURTURE_JOURNEY_WORKFLOW,
    {
      workflowId: journeyWorkflowId(leadId),
      taskQueue: ctx.taskQueue,
      args: [input],
    },
  );
  return { leadId, handle };
}

const sends = (ctx: Ctx) => eventsOf(ctx.actions).filter((e) => e.type === 'lead.nurture_sent');
/** When each send happened on the workflow clock (the timeline record's time; the double's sentAt is wall time). */
const sentAt = (ctx: Ctx) =>
  ctx.actions.filter((a) => a.action === 'nurture_sent').map((a) => Date.parse(a.at));

describe('nurture journey', () => {
  it('six months: first send on the call day, biweekly then monthly, re-verified every 2 months, handed back on intent', async () => {
    await withWorker(
      harness,
      async (ctx) => {
        const { handle } = await startJourney(ctx, '2-6m');
        await waitFor(() => sends(ctx).length === 1, { description: 'first send' });
        const enrolled = eventsOf(ctx.actions).find((e) => e.type === 'lead.nurture_enrolled');
        expect(enrolled).toMatchObject({
          data: { cadence: 'biweekly', reason: 'low_intent', tags: ['suv'] },
        });
        const first = sentAt(ctx)[0] ?? 0;
        // Same day as the first outbound call: at once.
        expect(
          first - Date.parse(enrolled?.type === 'lead.nurture_enrolled' ? enrolled.data.enrolledAt : ''),
        ).toBeLessThan(60_000);
        // Tag-matched material first.
        expect(ctx.messages[0]).toMatchObject({
          purpose: 'nurture',
          template: 'nurture_material',
          values: { materialTitle: 'Material 1' },
        });

        // Month 0–2: every two weeks.
        const reverify1 = addMonths(new Date(first), 2).toISOString();
        await sleepPast(harness, reverify1);
        await waitFor(() => ctx.actions.some((a) => a.action === 'nurture_reverification_due'), {
          description: 'due 1',
        });
        const biweekly = sentAt(ctx);
        expect(biweekly.length).toBe(5); // day 0, 14, 28, 42, 56 (< 2 months ≈ 59–62 days)
        // (Each send is recorded a moment after its timer, once the activities ran: a minute of slack.)
        for (let i = 1; i < biweekly.length; i += 1)
          expect(Math.abs((biweekly[i] ?? 0) - (biweekly[i - 1] ?? 0) - 14 * DAY_MS)).toBeLessThan(60_000);

        // Re-verified: still interested, now 6–12 months away → monthly from here.
        const r1 = await handle.executeUpdate(reverifyUpdate, {
          args: [{ by: manager, outcome: 'still_interested', horizon: '6-12m', correlationId: 'c' }],
        });
        expect(r1).toMatchObject({
          status: 'active',
          nextReverifyAt: addMonths(new Date(first), 4).toISOString(),
        });

        // Month 4: nobody re-verifies; 14 days later it counts as unreachable, the journey goes on.
        const reverify2 = addMonths(new Date(first), 4);
        await sleepPast(harness, new Date(reverify2.getTime() + REVERIFY_GRACE_DAYS * DAY_MS).toISOString());
        await waitFor(
          () => eventsOf(ctx.actions).filter((e) => e.type === 'lead.nurture_reverified').length === 2,
          {
            description: 'lapsed re-verification',
          },
        );
        const lapsed = eventsOf(ctx.actions).filter((e) => e.type === 'lead.nurture_reverified')[1];
        expect(lapsed).toMatchObject({ data: { outcome: 'unreachable' } });
        expect((await handle.query(journeyQuery)).status).toBe('active');

        // Month 6: re-verified as ready → handed back to sales; the journey ends.
        await sleepPast(harness, addMonths(new Date(first), 6).toISOString());
        await waitFor(
          () => ctx.actions.filter((a) => a.action === 'nurture_reverification_due').length === 3,
          {
            description: 'due 3',
          },
        );
        const all = sentAt(ctx);
        // The send planned before the re-verification stands (day 70); monthly from there.
        const monthly = all.slice(biweekly.length);
        expect(Math.abs((monthly[0] ?? 0) - (biweekly.at(-1) ?? 0) - 14 * DAY_MS)).toBeLessThan(60_000);
        for (let i = 1; i < monthly.length; i += 1) {
          const gap = (monthly[i] ?? 0) - (monthly[i - 1] ?? 0);
          expect(gap).toBeGreaterThanOrEqual(28 * DAY_MS - 60_000);
          expect(gap).toBeLessThanOrEqual(31 * DAY_MS + 60_000);
        }
        expect(all.length).toBe(biweekly.length + 4); // day 70, then three monthly sends before month 6
        const sequences = sends(ctx).map((e) => (e.type === 'lead.nurture_sent' ? e.data.sequence : 0));
        expect(sequences).toEqual(sequences.map((_, i) => i + 1));
        const materials = sends(ctx).map((e) => (e.type === 'lead.nurture_sent' ? e.data.materialId : ''));
        expect(new Set(materials).size).toBe(materials.length);

        const ready = await handle.executeUpdate(reverifyUpdate, {
          args: [{ by: manager, outcome: 'ready', intent: { timeframe: '两周内' }, correlationId: 'c' }],
        });
        expect(ready.status).toBe('handed_back');
        expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.nurture_handed_back')).toMatchObject({
          data: { reason: 'intent_ready', intent: { timeframe: '两周内' } },
        });
        expect((await handle.result()).status).toBe('handed_back');
      },
      { activities: nurture },
    );
  });

  it('is archived when re-verification fails, and a defeat approval enrols the lead', async () => {
    await withWorker(
      harness,
      async (ctx) => {
        const { leadId, handle } = await startLead(harness, ctx);
        await handle.executeUpdate(defeatRequestUpdate, {
          args: [
            {
              by: agent,
              detail: { reason: 'bought_competitor', competitorBrand: 'Toyota', description: 'RAV4' },
              correlationId: 'c',
            },
          ],
        });
        await handle.executeUpdate(defeatDecisionUpdate, {
          args: [{ by: manager, decision: 'approve', correlationId: 'c' }],
        });
        const journey = harness.env.client.workflow.getHandle<typeof nurtureJourneyWorkflow>(
          journeyWorkflowId(leadId),
        );
        await waitFor(() => typesOf(ctx.actions).includes('lead.nurture_sent'), {
          description: 'defeated lead nurtured',
        });
        expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.nurture_enrolled')).toMatchObject({
          data: {
            reason: 'defeated',
            cadence: 'monthly',
            dealerId: 'D1',
            tags: ['bought_competitor', 'Toyota'],
          },
        });
        const archived = await journey.executeUpdate(reverifyUpdate, {
          args: [{ by: manager, outcome: 'not_interested', correlationId: 'c' }],
        });
        expect(archived.status).toBe('archived');
        expect(eventsOf(ctx.actions).find((e) => e.type === 'lead.archived')).toMatchObject({
          data: { reason: 'nurture_failed', dealerId: 'D1' },
        });
        const late = await journey
          .executeUpdate(handBackUpdate, {
            args: [{ by: manager, reason: 'customer_request', correlationId: 'c' }],
          })
          .catch((e: unknown) => e);
        expect(late).toBeInstanceOf(Error);
      },
      { activities: nurture },
    );
  });
});
