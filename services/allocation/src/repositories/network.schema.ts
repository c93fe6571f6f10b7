import { Schema } from 'mongoose';
import type { DealerCalendar, TeamKind } from '../domain/network.js';

// `_id` is `${oemId}:${id}` everywhere below: ids come from the OEM's own systems, so they are only
// unique inside one OEM, and a deterministic `_id` turns the bulk upload into plain idempotent upserts.

const WeeklyWindow = new Schema(
  {
    days: { type: [Number], required: true },
    start: { type: String, required: true },
    end: { type: String, required: true },
  },
  { _id: false },
);

export interface DealerDoc {
  _id: string;
  oemId: string;
  id: string;
  name: string;
  regionId?: string;
  province: string;
  city: string;
  location?: { lat: number; lng: number };
  brands: string[];
  dailyCapacity: number;
  performance?: number;
  calendar: DealerCalendar;
  acceptWithinMinutes?: number;
  active: boolean;
  updatedAt: Date;
}

export const DealerMongoSchema = new Schema<DealerDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    id: { type: String, required: true },
    name: { type: String, required: true },
    regionId: String,
    province: { type: String, required: true },
    city: { type: String, required: true },
    location: { type: new Schema({ lat: Number, lng: Number }, { _id: false }), required: false },
    brands: { type: [String], default: [] },
    dailyCapacity: { type: Number, required: true },
    performance: Number,
    calendar: {
      type: new Schema(
        {
          timeZone: String,
          workingHours: { type: [WeeklyWindow], default: [] },
          holidays: { type: [String], default: [] },
        },
        { _id: false },
      ),
      required: true,
    },
    acceptWithinMinutes: Number,
    active: { type: Boolean, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'dealers', versionKey: false },
);
// Routing loads every active dealer of the OEM; the dealer list pages by id.
DealerMongoSchema.index({ oemId: 1, active: 1, id: 1 });
// GET /v1/dealers pages through an OEM's dealers in id order.
DealerMongoSchema.index({ oemId: 1, id: 1 });

export interface TeamDoc {
  _id: string;
  oemId: string;
  dealerId: string;
  id: string;
  kind: TeamKind;
  name: string;
  active: boolean;
  updatedAt: Date;
}

export const TeamMongoSchema = new Schema<TeamDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    id: { type: String, required: true },
    kind: { type: String, required: true },
    name: { type: String, required: true },
    active: { type: Boolean, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'teams', versionKey: false },
);
// In-dealer routing loads the teams of the chosen dealer.
TeamMongoSchema.index({ oemId: 1, dealerId: 1 });

export interface StaffDoc {
  _id: string;
  oemId: string;
  dealerId: string;
  teamId: string;
  id: string;
  name: string;
  roles: string[];
  modelSkills: string[];
  shifts: { days: number[]; start: string; end: string }[];
  onLeave: boolean;
  openLeadLimit: number;
  active: boolean;
  updatedAt: Date;
}

export const StaffMongoSchema = new Schema<StaffDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    teamId: { type: String, required: true },
    id: { type: String, required: true },
    name: { type: String, required: true },
    roles: { type: [String], required: true },
    modelSkills: { type: [String], default: [] },
    shifts: { type: [WeeklyWindow], default: [] },
    onLeave: { type: Boolean, required: true },
    openLeadLimit: { type: Number, required: true },
    active: { type: Boolean, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'staff', versionKey: false },
);
// In-dealer routing and GET /v1/dealers/{id}/staff load the staff of one dealer.
StaffMongoSchema.index({ oemId: 1, dealerId: 1, id: 1 });
