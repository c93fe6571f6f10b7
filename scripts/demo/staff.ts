/**
 * Dealer staff at work in the demo, over the same HTTP APIs a dealer's people use: each tick a few
 * dealers' managers read their work list (allocation) and act on their leads (nurturing) the way a
 * real showroom does — most first calls inside the SLA, some late or never (so SLA reminders and
 * breaches happen), invitations and appointments, visits and no-shows, test drives, orders and
 * deals, and defeat requests that the manager approves or rejects.
 *
 * Every lead's fate is drawn once from its id, so a lead is never pushed two ways, and each action
 * carries an Idempotency-Key, so a retried call never records it twice.
 */
import { createHash } from 'node:crypto';

export interface StaffActivity {
  stop(): void;
  stats(): string;
}

interface WorkItem {
  leadId: string;
  /** pending_first_follow_up, pending_re_follow_up, invited, arrived, … */
  workStatus: string;
  agentId?: string;
}

/** A number in [0, 1) fixed by the lead and the decision's name. */
function draw(leadId: string, what: string): number {
  return createHash('sha256').update(`${leadId}:${what}`).digest().readUInt32BE(0) / 2 ** 32;
}

const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

export function startStaffActivity(opts: {
  allocationUrl: string;
  nurturingUrl: string;
  /** A dealer_manager token per dealer id. */
  managerTokens: Record<string, string>;
  /** Milliseconds between ticks; each tick visits a few dealers. */
  intervalMs?: number;
}): StaffActivity {
  const counts: Record<string, number> = {};
  const done = new Set<string>();
  const dealers = Object.keys(opts.managerTokens);
  let cursor = 0;
  let busy = false;

  const act = async (token: string, leadId: string, step: string, path: string, body: unknown) => {
    const key = `demo-${leadId}-${step}`;
    if (done.has(key)) return false;
    const res = await fetch(`${opts.nurturingUrl}/v1/leads/${leadId}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
    });
    // 404: the lead's lifecycle workflow has not started yet (the work list is ahead of nurturing):
    // the same action is tried again on a later tick, with the same Idempotency-Key.
    if (res.status === 404) {
      counts[`${step} waiting for its workflow`] = (counts[`${step} waiting for its workflow`] ?? 0) + 1;
      return false;
    }
    done.add(key);
    const outcome = res.status < 300 ? step : `${step} refused (${res.status})`;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    return res.status < 300;
  };

  const work = async (token: string, item: WorkItem) => {
    const { leadId } = item;
    switch (item.workStatus) {
      case 'pending_first_follow_up': {
        // 15 % are never called (they breach the SLA and are reassigned); the rest are called now.
        if (draw(leadId, 'neglected') < 0.15) return;
        const r = draw(leadId, 'first-call');
        const outcome = r < 0.35 ? 'invited' : r < 0.8 ? 'connected' : 'no_answer';
        await act(token, leadId, 'first-follow-up', '/follow-ups', {
          method: 'phone',
          outcome,
          nextFollowUpAt: inHours(48),
          purpose: outcome === 'invited' ? 'test_drive' : 'materials',
          ...(outcome === 'no_answer' ? {} : { timeframe: r < 0.5 ? '一周内' : '三个月内' }),
        });
        if (outcome === 'invited') {
          await act(token, leadId, 'appointment', '/appointments', {
            kind: draw(leadId, 'kind') < 0.6 ? 'test_drive' : 'visit',
            scheduledAt: inHours(26),
          });
        }
        return;
      }
      case 'pending_re_follow_up': {
        const r = draw(leadId, 're-follow-up');
        if (r < 0.12) {
          const competitor = draw(leadId, 'competitor') < 0.5;
          const requested = await act(token, leadId, 'defeat-request', '/defeat-requests', {
            reason: competitor ? 'bought_competitor' : 'price',
            ...(competitor ? { competitorBrand: '丰田' } : {}),
            description: competitor ? '客户已购买竞品' : '客户认为价格偏高，暂不考虑',
          });
          if (requested) {
            const approve = draw(leadId, 'decision') < 0.75;
            await act(token, leadId, 'defeat-decision', '/defeat-requests/decision', {
              decision: approve ? 'approve' : 'reject',
              ...(approve ? {} : { nextFollowUpAt: inHours(72), note: '再跟进一次，提供金融方案' }),
            });
          }
          return;
        }
        if (r < 0.45) {
          await act(token, leadId, 're-follow-up', '/follow-ups', {
            method: 'phone',
            outcome: r < 0.3 ? 'invited' : 'connected',
            nextFollowUpAt: inHours(72),
            purpose: 'test_drive',
          });
        }
        return;
      }
      case 'invited': {
        // 25 % do not come (nurturing turns the missed appointment into a no-show).
        if (draw(leadId, 'no-show') < 0.25) return;
        await act(token, leadId, 'visit', '/visits', {});
        return;
      }
      case 'arrived': {
        const r = draw(leadId, 'after-visit');
        if (r < 0.6) await act(token, leadId, 'test-drive', '/test-drives', { model: '森林人' });
        if (r < 0.3) {
          await act(token, leadId, 'order', '/orders', {
            orderId: `O-${leadId.slice(-10)}`,
            amountCny: 239_800,
          });
          await act(token, leadId, 'won', '/won', { orderId: `O-${leadId.slice(-10)}`, amountCny: 239_800 });
        }
        return;
      }
      default:
        return;
    }
  };

  const tick = async () => {
    if (busy || dealers.length === 0) return;
    busy = true;
    try {
      for (let k = 0; k < 3; k++) {
        const dealerId = dealers[cursor++ % dealers.length]!;
        const token = opts.managerTokens[dealerId]!;
        const res = await fetch(`${opts.allocationUrl}/v1/worklist?pageSize=50`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status !== 200) continue;
        const { items } = (await res.json()) as { items: WorkItem[] };
        for (const item of items) await work(token, item);
      }
    } catch {
      // A service restarting in the demo: the next tick tries again.
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void tick(), opts.intervalMs ?? 2_000);
  return {
    stop: () => clearInterval(timer),
    stats: () =>
      Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'no staff actions yet',
  };
}
