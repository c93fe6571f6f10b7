import { Schema } from 'mongoose';

/**
 * Open leads per agent. `applied` holds the ids of the `+`/`-` operations already counted, and every
 * `$inc` is conditional on its id not being there, so a redelivered event or a retried request cannot
 * count twice (no transactions on FerretDB). It grows by two short ids per lead an agent ever had;
 * trimming entries older than the redelivery window is a maintenance job, not needed for correctness.
 */
export interface AgentLoadDoc {
  /** `${oemId}:${agentId}` */
  _id: string;
  oemId: string;
  dealerId: string;
  agentId: string;
  open: number;
  lastAssignedAt?: Date;
  applied: string[];
}

export const AgentLoadMongoSchema = new Schema<AgentLoadDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    agentId: { type: String, required: true },
    open: { type: Number, required: true, default: 0 },
    lastAssignedAt: Date,
    applied: { type: [String], default: [] },
  },
  { collection: 'agent_loads', versionKey: false },
);
// Routing reads the loads of one dealer's agents by _id ($in); no other index is needed.

/** Leads offered to a dealer on one local calendar day, for the daily-capacity strategy. */
export interface DealerDayDoc {
  /** `${oemId}:${dealerId}:${YYYY-MM-DD}` in the dealer's time zone. */
  _id: string;
  oemId: string;
  dealerId: string;
  day: string;
  count: number;
  applied: string[];
}

export const DealerDayMongoSchema = new Schema<DealerDayDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    day: { type: String, required: true },
    count: { type: Number, required: true, default: 0 },
    applied: { type: [String], default: [] },
  },
  { collection: 'dealer_days', versionKey: false },
);
// Routing reads today's counts of candidate dealers by _id ($in); reports would add { oemId, day }.

/**
 * One of an agent's grabs of a local day: slot `k` of `1..cap` (`${oemId}:${agentId}:${day}:${k}`).
 * Taking a slot is inserting its unique `_id`, the one step FerretDB applies atomically, so two grabs
 * racing for the last slot cannot both win (a conditional `$inc` can, there).
 */
export interface GrabSlotDoc {
  _id: string;
  oemId: string;
  dealerId: string;
  agentId: string;
  day: string;
  /** The grab holding the slot. */
  op: string;
}

export const GrabSlotMongoSchema = new Schema<GrabSlotDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    agentId: { type: String, required: true },
    day: { type: String, required: true },
    op: { type: String, required: true },
  },
  { collection: 'grab_slots', versionKey: false },
);
// Grabs look up their own slot; the team view and the pool count an agent-day's slots.
GrabSlotMongoSchema.index({ agentId: 1, day: 1, oemId: 1, op: 1 });
