import { randomUUID } from 'node:crypto';
import type { TenantFilter } from '@leadflow/platform/mongo';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { AnyBulkWriteOperation, Connection, Model } from 'mongoose';
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

/**
 * Writes records by deterministic `_id`: records not stored yet are inserted in bulk, stored ones are
 * updated. FerretDB executes an upsert as a lookup plus a write per record, which made a 10,000-staff
 * upload take minutes; `insertMany` is one statement per batch. A record inserted by a concurrent upload
 * meanwhile (duplicate key) is upserted instead, so the outcome is the same as upserting everything.
 */
async function writeAll<T extends { _id: string }>(model: Model<T>, docs: readonly T[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 1000) {
    const batch = docs.slice(i, i + 1000);
    const stored = new Set(
      (
        await model
          .find({ _id: { $in: batch.map((d) => d._id) } } as never, { _id: 1 })
          .lean<{ _id: string }[]>()
      ).map((d) => d._id),
    );
    const fresh = batch.filter((d) => !stored.has(d._id));
    const again = batch.filter((d) => stored.has(d._id));
    if (fresh.length > 0) {
      try {
        await model.insertMany(fresh as never[], { ordered: false, lean: true });
      } catch (error) {
        if (!isDuplicateKeyError(error) && !hasOnlyDuplicateKeyErrors(error)) throw error;
        again.push(...fresh);
      }
    }
    if (again.length > 0) await model.bulkWrite(again.map((d) => upsert(d)) as never, { ordered: false });
  }
}

function hasOnlyDuplicateKeyErrors(error: unknown): boolean {
  const writeErrors = (error as { writeErrors?: { code?: number; err?: { code?: number } }[] }).writeErrors;
  return (
    Array.isArray(writeErrors) &&
    writeErrors.length > 0 &&
    writeErrors.every((e) => (e.code ?? e.err?.code) === 11000)
  );
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
  /**
   * A token that changes with every upload of the OEM's network: the routing cache reloads only when
   * it differs (a single `_id` read; FerretDB scans for anything else).
   */
  networkToken(oemId: string): Promise<string>;
  /** Every team / staff member of the OEM (the routing cache's snapshot). */
  listAllTeams(oemId: string): Promise<StoredTeam[]>;
  listAllStaff(oemId: string): Promise<StoredStaff[]>;
  findStaff(oemId: string, staffId: string): Promise<StoredStaff | null>;
}

export function createNetworkRepository(connection: Connection): NetworkRepository {
  const Dealers = connection.model<DealerDoc>('Dealer', DealerMongoSchema);
  const Teams = connection.model<TeamDoc>('Team', TeamMongoSchema);
  const Staff = connection.model<StaffDoc>('Staff', StaffMongoSchema);
  const Versions = connection.collection<{ _id: string; token: string; at: Date }>('network_versions');

  return {
    async upsert(oemId, network, now) {
      // Dealers first, then teams, then staff: a crash midway leaves references pointing only at
      // records that exist, and re-sending the same upload completes it.
      if (network.dealers.length > 0) {
        await writeAll(
          Dealers,
          network.dealers.map(
            (d): DealerDoc => ({
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
        );
      }
      if (network.teams.length > 0) {
        await writeAll(
          Teams,
          network.teams.map((t): TeamDoc => ({ _id: key(oemId, t.id), oemId, ...t, updatedAt: now })),
        );
      }
      if (network.staff.length > 0) {
        await writeAll(
          Staff,
          network.staff.map((s): StaffDoc => ({ _id: key(oemId, s.id), oemId, ...s, updatedAt: now })),
        );
      }
      // Last, after every record: a cache that sees the new token also sees the records.
      await Versions.updateOne({ _id: oemId }, { $set: { token: randomUUID(), at: now } }, { upsert: true });
    },

    async networkToken(oemId) {
      const doc = await Versions.findOne({ _id: oemId });
      return doc?.token ?? 'none';
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

    async listAllTeams(oemId) {
      return (await Teams.find({ oemId }).sort({ id: 1 }).lean<TeamDoc[]>()).map(toTeam);
    },

    async listAllStaff(oemId) {
      return (await Staff.find({ oemId }).sort({ id: 1 }).lean<StaffDoc[]>()).map(toStaff);
    },

    async findStaff(oemId, staffId) {
      const doc = await Staff.findById(key(oemId, staffId)).lean<StaffDoc>();
      return doc === null ? null : toStaff(doc);
    },
  };
}
