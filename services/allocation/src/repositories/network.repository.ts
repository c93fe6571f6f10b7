import type { TenantFilter } from '@leadflow/platform/mongo';
import type { AnyBulkWriteOperation, Connection } from 'mongoose';
import { DEFAULT_TIME_ZONE } from '../domain/calendar.js';
import type { Dealer, ExistingNetwork, Network, Staff, Team } from '../domain/network.js';
import {
  DealerMongoSchema,
  StaffMongoSchema,
  TeamMongoSchema,
  type DealerDoc,
  type StaffDoc,
  type TeamDoc,
} from './network.schema.js';

export interface StoredDealer extends Dealer {
  oemId: string;
}
export interface StoredTeam extends Team {
  oemId: string;
}
export interface StoredStaff extends Staff {
  oemId: string;
}

const key = (oemId: string, id: string) => `${oemId}:${id}`;

function toDealer(doc: DealerDoc): StoredDealer {
  return {
    oemId: doc.oemId,
    id: doc.id,
    name: doc.name,
    ...(doc.regionId === undefined ? {} : { regionId: doc.regionId }),
    province: doc.province,
    city: doc.city,
    ...(doc.location?.lat === undefined
      ? {}
      : { location: { lat: doc.location.lat, lng: doc.location.lng } }),
    brands: doc.brands,
    dailyCapacity: doc.dailyCapacity,
    ...(doc.performance === undefined || doc.performance === null ? {} : { performance: doc.performance }),
    calendar: {
      timeZone: doc.calendar.timeZone || DEFAULT_TIME_ZONE,
      workingHours: doc.calendar.workingHours.map(({ days, start, end }) => ({ days, start, end })),
      holidays: doc.calendar.holidays,
    },
    ...(doc.acceptWithinMinutes === undefined || doc.acceptWithinMinutes === null
      ? {}
      : { acceptWithinMinutes: doc.acceptWithinMinutes }),
    active: doc.active,
  };
}

function toTeam(doc: TeamDoc): StoredTeam {
  return {
    oemId: doc.oemId,
    id: doc.id,
    dealerId: doc.dealerId,
    kind: doc.kind,
    name: doc.name,
    active: doc.active,
  };
}

function toStaff(doc: StaffDoc): StoredStaff {
  return {
    oemId: doc.oemId,
    id: doc.id,
    dealerId: doc.dealerId,
    teamId: doc.teamId,
    name: doc.name,
    roles: doc.roles as Staff['roles'],
    modelSkills: doc.modelSkills,
    shifts: doc.shifts.map(({ days, start, end }) => ({ days, start, end })),
    onLeave: doc.onLeave,
    openLeadLimit: doc.openLeadLimit,
    active: doc.active,
  };
}

function upsert<T extends { _id: string }>(doc: T): AnyBulkWriteOperation<T> {
  const { _id, ...fields } = doc;
  return { updateOne: { filter: { _id } as never, update: { $set: fields } as never, upsert: true } };
}

export interface NetworkRepository {
  /** Upserts dealers, teams and staff of one OEM; records not in the upload are left as they are. */
  upsert(oemId: string, network: Network, now: Date): Promise<void>;
  existing(oemId: string): Promise<ExistingNetwork>;
  listDealers(
    filter: TenantFilter<DealerDoc>,
    page?: { skip: number; limit: number },
  ): Promise<StoredDealer[]>;
  countDealers(filter: TenantFilter<DealerDoc>): Promise<number>;
  findDealer(oemId: string, dealerId: string): Promise<StoredDealer | null>;
  listTeams(oemId: string, dealerId: string): Promise<StoredTeam[]>;
  listStaff(oemId: string, dealerId: string): Promise<StoredStaff[]>;
  findStaff(oemId: string, staffId: string): Promise<StoredStaff | null>;
}

export function createNetworkRepository(connection: Connection): NetworkRepository {
  const Dealers = connection.model<DealerDoc>('Dealer', DealerMongoSchema);
  const Teams = connection.model<TeamDoc>('Team', TeamMongoSchema);
  const Staff = connection.model<StaffDoc>('Staff', StaffMongoSchema);

  return {
    async upsert(oemId, network, now) {
      // Dealers first, then teams, then staff: a crash midway leaves references pointing only at
      // records that exist, and re-sending the same upload completes it.
      if (network.dealers.length > 0) {
        await Dealers.bulkWrite(
          network.dealers.map((d) =>
            upsert<DealerDoc>({
              _id: key(oemId, d.id),
              oemId,
              id: d.id,
              name: d.name,
              ...(d.regionId === undefined ? {} : { regionId: d.regionId }),
              province: d.province,
              city: d.city,
              ...(d.location === undefined ? {} : { location: d.location }),
              brands: d.brands,
              dailyCapacity: d.dailyCapacity,
              ...(d.performance === undefined ? {} : { performance: d.performance }),
              calendar: {
                timeZone: d.calendar?.timeZone ?? DEFAULT_TIME_ZONE,
                workingHours: d.calendar?.workingHours ?? [],
                holidays: d.calendar?.holidays ?? [],
              },
              ...(d.acceptWithinMinutes === undefined ? {} : { acceptWithinMinutes: d.acceptWithinMinutes }),
              active: d.active,
              updatedAt: now,
            }),
          ),
          { ordered: false },
        );
      }
      if (network.teams.length > 0) {
        await Teams.bulkWrite(
          network.teams.map((t) => upsert<TeamDoc>({ _id: key(oemId, t.id), oemId, ...t, updatedAt: now })),
          { ordered: false },
        );
      }
      if (network.staff.length > 0) {
        await Staff.bulkWrite(
          network.staff.map((s) => upsert<StaffDoc>({ _id: key(oemId, s.id), oemId, ...s, updatedAt: now })),
          { ordered: false },
        );
      }
    },

    async existing(oemId) {
      const [dealers, teams] = await Promise.all([
        Dealers.find({ oemId }, { id: 1 }).lean<{ id: string }[]>(),
        Teams.find({ oemId }, { id: 1, dealerId: 1 }).lean<{ id: string; dealerId: string }[]>(),
      ]);
      return {
        dealerIds: new Set(dealers.map((d) => d.id)),
        teams: new Map(teams.map((t) => [t.id, t.dealerId])),
      };
    },

    async listDealers(filter, page) {
      let query = Dealers.find(filter).sort({ id: 1 });
      if (page !== undefined) query = query.skip(page.skip).limit(page.limit);
      return (await query.lean<DealerDoc[]>()).map(toDealer);
    },

    countDealers: (filter) => Dealers.countDocuments(filter),

    async findDealer(oemId, dealerId) {
      const doc = await Dealers.findById(key(oemId, dealerId)).lean<DealerDoc>();
      return doc === null ? null : toDealer(doc);
    },

    async listTeams(oemId, dealerId) {
      return (await Teams.find({ oemId, dealerId }).sort({ id: 1 }).lean<TeamDoc[]>()).map(toTeam);
    },

    async listStaff(oemId, dealerId) {
      return (await Staff.find({ oemId, dealerId }).sort({ id: 1 }).lean<StaffDoc[]>()).map(toStaff);
    },

    async findStaff(oemId, staffId) {
      const doc = await Staff.findById(key(oemId, staffId)).lean<StaffDoc>();
      return doc === null ? null : toStaff(doc);
    },
  };
}
