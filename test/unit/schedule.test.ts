import { parseSchedule } from '../../src/paging/load-schedule';
import { escalationChain, isBusinessHours, onCallFor } from '../../src/paging/on-call';
import { decidePage } from '../../src/paging/page-policy';
import { parseIncident } from '../../src/incidents/parse-incident';
import { demoIncident, withProperties } from '../helpers/fixtures';
import fs from 'node:fs';
import path from 'node:path';

const demo = fs.readFileSync(path.resolve(__dirname, '../fixtures/oncall.yaml'), 'utf8');
const schedule = parseSchedule(demo);
const MEGAN = '7faf8ab2-3d56-4244-b585-20c8a42ed2b8';
const ALEX = 'a1b2c3d4-0000-4000-8000-000000000020';
const ADELE = 'a1b2c3d4-0000-4000-8000-000000000022';
const ISAIAH = 'a1b2c3d4-0000-4000-8000-000000000023';

describe('who is on call', () => {
  it.each([
    // Amsterdam is UTC+1 in winter, UTC+2 in summer. The daily hand-off is 09:00 local.
    ['2026-11-02T07:59:00Z', 'primary', ALEX, 'a minute before the first hand-off (the day before it)'],
    ['2026-11-02T08:00:00Z', 'primary', MEGAN, 'at the first hand-off, 09:00 local'],
    ['2026-11-03T07:59:00Z', 'primary', MEGAN, 'until 09:00 the next day'],
    ['2026-11-03T08:00:00Z', 'primary', ALEX, 'then the next person'],
    ['2026-11-24T02:00:00Z', 'primary', ALEX, '03:00 local on day 22 of the rotation'],
    ['2026-11-24T02:00:00Z', 'secondary', ISAIAH, 'weekly: the fourth week since 2 November'],
    ['2026-11-30T07:59:00Z', 'secondary', ISAIAH, 'weekly: a minute before Monday 09:00'],
    ['2026-11-30T08:00:00Z', 'secondary', ADELE, 'weekly: Monday 09:00'],
    // Summer time starts on 29 March 2027 at 02:00: 09:00 local is then 07:00 UTC.
    ['2027-03-28T07:59:00Z', 'primary', MEGAN, '08:59 local on the first summer day: still the overnight person'],
    ['2027-03-28T08:00:00Z', 'primary', MEGAN, 'hand-off still at 09:00 local after the change'],
    ['2027-03-29T06:59:00Z', 'primary', MEGAN, '08:59 summer time'],
    ['2027-03-29T07:00:00Z', 'primary', ALEX, '09:00 summer time, 07:00 UTC'],
  ])('at %s the %s is %s (%s)', (at, rotation, person) => {
    expect(onCallFor(schedule, rotation, new Date(at)).person).toBe(person);
  });

  it('lets an override win for its period only', () => {
    const withOverride = parseSchedule(`${demo.replace('overrides: []', `overrides:\n  - { rotation: primary, person: isaiah@contoso.example, from: "2026-11-24T18:00", to: "2026-11-25T09:00" }`)}`);
    expect(onCallFor(withOverride, 'primary', new Date('2026-11-24T16:59:00Z')).person).toBe(MEGAN);
    expect(onCallFor(withOverride, 'primary', new Date('2026-11-24T17:00:00Z'))).toEqual({ person: 'isaiah@contoso.example', via: 'primary (override)' });
    expect(onCallFor(withOverride, 'primary', new Date('2026-11-25T07:59:00Z')).person).toBe('isaiah@contoso.example');
    expect(onCallFor(withOverride, 'primary', new Date('2026-11-25T08:00:00Z')).person).toBe(ALEX);
  });

  it('knows business hours, weekends and holidays in its own time zone', () => {
    expect(isBusinessHours(schedule, new Date('2026-11-24T10:00:00Z'))).toBe(true); // Tue 11:00
    expect(isBusinessHours(schedule, new Date('2026-11-24T16:00:00Z'))).toBe(false); // Tue 17:00
    expect(isBusinessHours(schedule, new Date('2026-11-28T10:00:00Z'))).toBe(false); // Saturday
    expect(isBusinessHours(schedule, new Date('2026-12-25T10:00:00Z'))).toBe(false); // Christmas
  });

  it('resolves the escalation chain level by level', () => {
    expect(escalationChain(schedule, new Date('2026-11-24T02:00:00Z'))).toEqual([
      { level: 1, target: { kind: 'person', person: ALEX }, waitMinutes: 5, via: 'primary' },
      { level: 2, target: { kind: 'person', person: ISAIAH }, waitMinutes: 10, via: 'secondary' },
      { level: 3, target: { kind: 'channel' }, waitMinutes: 15, via: 'the SOC channel' },
    ]);
  });
});

describe('the paging policy', () => {
  const incident = (changes: Record<string, unknown> = {}) => parseIncident(withProperties(demoIncident('brute-force-admin'), changes), { portalUrl: 'https://portal.azure.com' });
  it.each([
    ['Critical', '2026-11-24T10:00:00Z', {}, true],
    ['High', '2026-11-24T02:00:00Z', {}, true],
    ['High', '2026-11-24T10:00:00Z', {}, false],
    ['Medium', '2026-11-24T02:00:00Z', {}, false],
    ['Medium', '2026-11-24T10:00:00Z', { title: 'Possible ransomware activity' }, true],
    ['Critical', '2026-11-24T02:00:00Z', { title: '[TEST] Critical drill' }, false],
    ['Critical', '2026-11-24T02:00:00Z', { status: 'Closed' }, false],
  ])('%s at %s %j → page %s', (severity, at, changes, expected) => {
    expect(decidePage(schedule, incident(changes), severity, new Date(at)).page).toBe(expected);
  });
});

describe('a broken schedule file', () => {
  const broken = (from: string, to: string) => () => parseSchedule(demo.replace(from, to), 'oncall.yaml');
  it.each([
    ['timeZone: Europe/Amsterdam', 'timeZone: Mars/Olympus', /oncall\.yaml line 2: timeZone: must be an IANA time zone/],
    ['  - { rotation: secondary, waitMinutes: 10 }', '  - { rotation: tertiary, waitMinutes: 10 }', /oncall\.yaml line \d+: escalation\.1\.rotation: no rotation is named "tertiary"/],
    ['handoff: "09:00"\n    start', 'handoff: "9 o\'clock"\n    start', /oncall\.yaml line 8: rotations\.0\.handoff: must be a time like 09:00/],
    [
      '      - 7faf8ab2-3d56-4244-b585-20c8a42ed2b8   # Megan Bowen\n      - a1b2c3d4-0000-4000-8000-000000000020   # Alex Wilber',
      '      - nobody',
      /rotations\.0\.people\.0: must be an Entra object id or a UPN/,
    ],
    ['handoffDay: mon\n', '\n', /rotations\.1: a weekly rotation needs handoffDay/],
    ['rotations:', 'rotations: [\n', /not valid YAML/],
  ])('stops start-up when %j becomes %j', (from, to, message) => {
    expect(broken(from, to)).toThrow(message);
  });

  it('never accepts a rotation with nobody in it', () => {
    expect(() => parseSchedule(demo.replace(/people:\n(\s+- a1b2c3d4-0000-4000-8000-00000000002[23].*\n)+/, 'people: []\n'), 'oncall.yaml')).toThrow(
      /needs at least one person: nobody on call is never allowed/,
    );
  });
});
