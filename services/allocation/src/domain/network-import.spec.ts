import { describe, expect, it } from 'vitest';
import { parseCsv, parseWindows, rowsToNetwork, tableRows } from './network-import.js';

describe('parseCsv', () => {
  it('reads quotes, escaped quotes, embedded newlines, CRLF and a BOM, and drops blank lines', () => {
    expect(parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\n\n"multi\nline",\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\nline', ''],
    ]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('last,row')).toEqual([['last', 'row']]);
  });
});

describe('parseWindows', () => {
  it('reads ranges and lists of ISO weekdays with local times', () => {
    expect(parseWindows('1-5 09:00-18:00; 6,7 10:00-16:00')).toEqual([
      { days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' },
      { days: [6, 7], start: '10:00', end: '16:00' },
    ]);
    expect(parseWindows('1,3-4 08:30 - 12:00')).toEqual([{ days: [1, 3, 4], start: '08:30', end: '12:00' }]);
    expect(parseWindows('')).toEqual([]);
  });

  it('returns the part that does not parse', () => {
    expect(parseWindows('1-5 09:00-18:00; weekends')).toBe('weekends');
    expect(parseWindows('8 09:00-10:00')).toBe('8 09:00-10:00');
  });
});

describe('rowsToNetwork', () => {
  const csv = (text: string) => tableRows('csv', parseCsv(text));

  it('builds dealers, teams and staff with lists, booleans, windows and defaults', () => {
    const { network, problems } = rowsToNetwork([
      ...csv(
        'record,id,name,province,city,brands,dailyCapacity,lat,lng,timeZone,holidays,acceptWithinMinutes\n' +
          'dealer,D1,Dealer,上海市,上海市,subaru|gwm,20,31.2,121.4,Asia/Shanghai,2025-10-01;2025-10-02,30\n',
      ),
      ...tableRows('teams', [
        ['id', 'dealerId', 'kind', 'name', 'active'],
        ['T1', 'D1', 'dcc', 'DCC', '是'],
      ]),
      ...tableRows('Staff', [
        ['ID', 'DealerId', 'TeamId', 'Name', 'Roles', 'OnLeave', 'OpenLeadLimit'],
        ['S1', 'D1', 'T1', 'Agent', 'dcc_agent|dcc_supervisor', 'yes', '12'],
      ]),
    ]);
    expect(problems).toEqual([]);
    expect(network.dealers[0]).toMatchObject({
      id: 'D1',
      brands: ['subaru', 'gwm'],
      dailyCapacity: 20,
      location: { lat: 31.2, lng: 121.4 },
      calendar: { timeZone: 'Asia/Shanghai', holidays: ['2025-10-01', '2025-10-02'] },
      acceptWithinMinutes: 30,
      active: true,
    });
    expect(network.teams[0]).toEqual({ id: 'T1', dealerId: 'D1', kind: 'dcc', name: 'DCC', active: true });
    expect(network.staff[0]).toMatchObject({
      id: 'S1',
      roles: ['dcc_agent', 'dcc_supervisor'],
      onLeave: true,
      openLeadLimit: 12,
      modelSkills: [],
      shifts: [],
      active: true,
    });
  });

  it('points every problem at its sheet, line and column', () => {
    const { problems } = rowsToNetwork(
      csv(
        'record,id,name,province,city,dailyCapacity,lat,lng,roles,dealerId,teamId,shifts,onLeave\n' +
          'dealer,D1,Dealer,上海市,上海市,many,31,,,,,,\n' +
          'staff,S1,Agent,,,,,,wizard,D1,T1,nights,maybe\n' +
          'robot,R1,,,,,,,,,,,\n' +
          'dealer,D2,,上海市,上海市,5,,,,,,,\n',
      ),
    );
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/csv/2/dailycapacity',
        '/csv/2/lat',
        '/csv/3/shifts',
        '/csv/3/onleave',
        '/csv/4/record',
        '/csv/5/name',
      ]),
    );
    expect(paths.some((p) => p.startsWith('/csv/3/roles'))).toBe(true);
  });
});
