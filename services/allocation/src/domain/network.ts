import { DealerId, literalUnion, RoleSchema, TeamId, AgentId } from '@leadflow/contracts/common';
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_TIME_ZONE, isValidTimeZone, parseClock } from './calendar.js';
import { LatLngSchema } from './routing-policy.js';

const Clock = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local time HH:MM.' });

export const WeeklyWindowSchema = Type.Object(
  {
    /** ISO weekdays, 1 = Monday … 7 = Sunday. */
    days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), {
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
    }),
    start: Clock,
    end: Clock,
  },
  { additionalProperties: false },
);

export const DealerCalendarSchema = Type.Object(
  {
    timeZone: Type.String({ minLength: 1, maxLength: 64, default: DEFAULT_TIME_ZONE }),
    workingHours: Type.Array(WeeklyWindowSchema, { maxItems: 14, default: [] }),
    /** Local dates `YYYY-MM-DD` the dealer is closed. */
    holidays: Type.Array(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), { maxItems: 400, default: [] }),
  },
  { additionalProperties: false },
);
export type DealerCalendar = Static<typeof DealerCalendarSchema>;

export const DealerSchema = Type.Object(
  {
    id: DealerId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    regionId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    province: Type.String({ minLength: 1, maxLength: 50 }),
    city: Type.String({ minLength: 1, maxLength: 50 }),
    location: Type.Optional(LatLngSchema),
    /** Brands sold; empty means every brand of the OEM. */
    brands: Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 50, default: [] }),
    dailyCapacity: Type.Integer({ minimum: 0, maximum: 100_000 }),
    /** 0–1 conversion-based score used by performance weighting; unset until measured. */
    performance: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    calendar: Type.Optional(DealerCalendarSchema),
    /** This dealer's accept deadline, overriding the OEM policy's `acceptWithinMinutes`. */
    acceptWithinMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 })),
    active: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Dealer = Static<typeof DealerSchema> & { calendar: DealerCalendar };

export const TeamKinds = ['showroom', 'dcc', 'outbound'] as const;
export type TeamKind = (typeof TeamKinds)[number];

export const TeamSchema = Type.Object(
  {
    id: TeamId,
    dealerId: DealerId,
    kind: literalUnion(TeamKinds),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    active: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Team = Static<typeof TeamSchema>;

export const StaffSchema = Type.Object(
  {
    id: AgentId,
    dealerId: DealerId,
    teamId: TeamId,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 13, uniqueItems: true }),
    /** Series or models the person specialises in; empty means a generalist. */
    modelSkills: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50, default: [] }),
    shifts: Type.Array(WeeklyWindowSchema, { maxItems: 14, default: [] }),
    onLeave: Type.Boolean({ default: false }),
    openLeadLimit: Type.Integer({ minimum: 0, maximum: 10_000, default: 50 }),
    active: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Staff = Static<typeof StaffSchema>;

export const NetworkSchema = Type.Object(
  {
    dealers: Type.Array(DealerSchema, { maxItems: 2_000, default: [] }),
    teams: Type.Array(TeamSchema, { maxItems: 10_000, default: [] }),
    staff: Type.Array(StaffSchema, { maxItems: 50_000, default: [] }),
  },
  { additionalProperties: false },
);
export type Network = Static<typeof NetworkSchema>;

/** Roles whose holders work leads and can therefore be routed to. */
export const AgentRoles = ['showroom_consultant', 'dcc_agent'] as const;

export function isAgent(staff: Pick<Staff, 'roles'>): boolean {
  return staff.roles.some((role) => (AgentRoles as readonly string[]).includes(role));
}

/** The work queue a team feeds: outbound callers are part of the DCC (Chevrolet mode 2). */
export function queueOfTeam(kind: TeamKind): 'showroom' | 'dcc' {
  return kind === 'showroom' ? 'showroom' : 'dcc';
}

export interface NetworkProblem {
  path: string;
  message: string;
}

/** What already exists for the OEM, so a partial upload may reference earlier ones. */
export interface ExistingNetwork {
  dealerIds: ReadonlySet<string>;
  /** team id → dealer id */
  teams: ReadonlyMap<string, string>;
}

function duplicates(ids: readonly string[], path: string): NetworkProblem[] {
  const seen = new Set<string>();
  const problems: NetworkProblem[] = [];
  ids.forEach((id, index) => {
    if (seen.has(id)) problems.push({ path: `/body/${path}/${index}/id`, message: `duplicate id ${id}` });
    seen.add(id);
  });
  return problems;
}

/**
 * Cross-record rules a JSON schema cannot express: unique ids, teams and staff pointing at dealers and
 * teams that exist (in this upload or already stored), staff in a team of their own dealer, valid time
 * zones and shift times. Returns every problem so the admin fixes the file in one pass.
 */
export function networkProblems(network: Network, existing: ExistingNetwork): NetworkProblem[] {
  const problems = [
    ...duplicates(
      network.dealers.map((d) => d.id),
      'dealers',
    ),
    ...duplicates(
      network.teams.map((t) => t.id),
      'teams',
    ),
    ...duplicates(
      network.staff.map((s) => s.id),
      'staff',
    ),
  ];
  const dealerIds = new Set([...existing.dealerIds, ...network.dealers.map((d) => d.id)]);
  const teams = new Map(existing.teams);
  for (const team of network.teams) teams.set(team.id, team.dealerId);

  network.dealers.forEach((dealer, index) => {
    const zone = dealer.calendar?.timeZone;
    if (zone !== undefined && !isValidTimeZone(zone)) {
      problems.push({
        path: `/body/dealers/${index}/calendar/timeZone`,
        message: `unknown time zone ${zone}`,
      });
    }
  });
  network.teams.forEach((team, index) => {
    if (!dealerIds.has(team.dealerId)) {
      problems.push({ path: `/body/teams/${index}/dealerId`, message: `unknown dealer ${team.dealerId}` });
    }
  });
  network.staff.forEach((person, index) => {
    if (!dealerIds.has(person.dealerId)) {
      problems.push({ path: `/body/staff/${index}/dealerId`, message: `unknown dealer ${person.dealerId}` });
    }
    const teamDealer = teams.get(person.teamId);
    if (teamDealer === undefined) {
      problems.push({ path: `/body/staff/${index}/teamId`, message: `unknown team ${person.teamId}` });
    } else if (teamDealer !== person.dealerId) {
      problems.push({
        path: `/body/staff/${index}/teamId`,
        message: `team ${person.teamId} belongs to dealer ${teamDealer}, not ${person.dealerId}`,
      });
    }
    person.shifts.forEach((shift, s) => {
      if (parseClock(shift.start) === parseClock(shift.end)) {
        problems.push({
          path: `/body/staff/${index}/shifts/${s}`,
          message: 'a shift must not start and end at the same time',
        });
      }
    });
  });
  return problems;
}
