/**
 * Per-lead ordering of webhook deliveries, as a pure choice over the schedule. A lane is one
 * subscription × one lead; its head is its earliest scheduled delivery (by event sequence, then
 * enqueue time, then id). Only heads are sent, so a lead's next event waits until the previous one
 * has left the schedule (delivered, given up or cancelled), while different lanes run in parallel.
 */
export interface LaneEntry {
  _id: string;
  subscriptionId: string;
  leadId: string;
  seq: number;
  createdAt: Date;
  nextAttemptAt: Date;
}

const laneOf = (entry: LaneEntry) => `${entry.subscriptionId}\u0000${entry.leadId}`;

function earlier(a: LaneEntry, b: LaneEntry): boolean {
  if (a.seq !== b.seq) return a.seq < b.seq;
  if (a.createdAt.getTime() !== b.createdAt.getTime()) return a.createdAt < b.createdAt;
  return a._id < b._id;
}

/** The heads of their lanes that are due at `now`, soonest due first, at most `limit`, none in `busy`. */
export function dueHeads<E extends LaneEntry>(
  entries: readonly E[],
  now: Date,
  limit: number,
  busy: ReadonlySet<string> = new Set(),
): E[] {
  const heads = new Map<string, E>();
  for (const entry of entries) {
    const lane = laneOf(entry);
    const head = heads.get(lane);
    if (head === undefined || earlier(entry, head)) heads.set(lane, entry);
  }
  return [...heads.values()]
    .filter((e) => e.nextAttemptAt.getTime() <= now.getTime() && !busy.has(e._id))
    .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || (a._id < b._id ? -1 : 1))
    .slice(0, Math.max(0, limit));
}
