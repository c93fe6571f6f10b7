import { describe, expect, it } from 'vitest';
import { isAgent, networkProblems, queueOfTeam, type Network } from './network.js';

const staff = (overrides: Partial<Network['staff'][number]> = {}): Network['staff'][number] => ({
  id: 's1',
  dealerId: 'd1',
  teamId: 't1',
  name: 'S',
  roles: ['dcc_agent'],
  modelSkills: [],
  shifts: [],
  onLeave: false,
  openLeadLimit: 10,
  active: true,
  ...overrides,
});
const none = { dealerIds: new Set<string>(), teams: new Map<string, string>() };

describe('networkProblems', () => {
  it('accepts a consistent upload', () => {
    const network: Network = {
      dealers: [
        { id: 'd1', name: 'D', province: 'p', city: 'c', brands: [], dailyCapacity: 5, active: true },
      ],
      teams: [{ id: 't1', dealerId: 'd1', kind: 'dcc', name: 'DCC', active: true }],
      staff: [staff()],
    };
    expect(networkProblems(network, none)).toEqual([]);
  });

  it('lets an upload reference dealers and teams stored earlier', () => {
    const existing = { dealerIds: new Set(['d1']), teams: new Map([['t1', 'd1']]) };
    expect(networkProblems({ dealers: [], teams: [], staff: [staff()] }, existing)).toEqual([]);
  });

  it('reports duplicates, dangling references, cross-dealer teams, bad zones and empty shifts', () => {
    const problems = networkProblems(
      {
        dealers: [
          {
            id: 'd1',
            name: 'D',
            province: 'p',
            city: 'c',
            brands: [],
            dailyCapacity: 5,
            active: true,
            calendar: { timeZone: 'Mars/Base', workingHours: [], holidays: [] },
          },
          { id: 'd1', name: 'D', province: 'p', city: 'c', brands: [], dailyCapacity: 5, active: true },
        ],
        teams: [
          { id: 't1', dealerId: 'd1', kind: 'dcc', name: 'DCC', active: true },
          { id: 't2', dealerId: 'd9', kind: 'dcc', name: 'DCC', active: true },
        ],
        staff: [
          staff({ dealerId: 'd2' }),
          staff({ id: 's2', teamId: 'nope' }),
          staff({ id: 's3', shifts: [{ days: [1], start: '09:00', end: '09:00' }] }),
        ],
      },
      { dealerIds: new Set(['d2']), teams: new Map() },
    );
    expect(problems).toEqual([
      { path: '/body/dealers/1/id', message: 'duplicate id d1' },
      { path: '/body/dealers/0/calendar/timeZone', message: 'unknown time zone Mars/Base' },
      { path: '/body/teams/1/dealerId', message: 'unknown dealer d9' },
      { path: '/body/staff/0/teamId', message: 'team t1 belongs to dealer d1, not d2' },
      { path: '/body/staff/1/teamId', message: 'unknown team nope' },
      { path: '/body/staff/2/shifts/0', message: 'a shift must not start and end at the same time' },
    ]);
  });
});

describe('roles and queues', () => {
  it('routes only to consultants and DCC agents; outbound callers work the DCC queue', () => {
    expect(isAgent({ roles: ['dealer_manager'] })).toBe(false);
    expect(isAgent({ roles: ['dealer_manager', 'showroom_consultant'] })).toBe(true);
    expect(queueOfTeam('outbound')).toBe('dcc');
    expect(queueOfTeam('showroom')).toBe('showroom');
  });
});
