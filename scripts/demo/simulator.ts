/**
 * Replays demo lead traffic into ingestion at a steady rate, the way the OEM's channels would:
 * each lead is posted by its channel with an Idempotency-Key, so a retried post never doubles it.
 */
import { createTrafficGenerator } from './traffic.js';

export interface Traffic {
  stop(): void;
  stats(): string;
}

export function startTraffic(opts: {
  ingestionUrl: string;
  channelIds: Record<string, string>;
  adminToken: string;
  ratePerSecond: number;
  seed?: number;
}): Traffic {
  const next = createTrafficGenerator(opts.seed ?? Date.now() % 100_000);
  const counts = { accepted: 0, rejected: 0, failed: 0 };
  const post = async () => {
    const lead = next();
    try {
      const res = await fetch(`${opts.ingestionUrl}/v1/leads`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${opts.adminToken}`,
          'content-type': 'application/json',
          'idempotency-key': lead.body.externalId,
        },
        body: JSON.stringify({ ...lead.body, channelId: opts.channelIds[lead.channelKey] }),
      });
      if (res.status === 202 || res.status === 200) counts.accepted++;
      else counts.rejected++;
    } catch {
      counts.failed++;
    }
  };
  const interval = Math.max(10, Math.round(1000 / Math.max(0.1, opts.ratePerSecond)));
  const timer = setInterval(() => void post(), interval);
  return {
    stop: () => clearInterval(timer),
    stats: () =>
      `${counts.accepted} leads accepted, ${counts.rejected} rejected, ${counts.failed} failed to send`,
  };
}
