import { DateTime } from 'luxon';
import { weekdayNumber, type Schedule } from './schedule-types';

export type Target = { kind: 'person'; person: string } | { kind: 'channel' };

export interface ResolvedLevel {
  level: number;
  target: Target;
  waitMinutes: number;
  /** Where the target came from, for `oncall` and the audit: a rotation, an override, the chain. */
  via: string;
}

const local = (s: Schedule, at: Date) => DateTime.fromJSDate(at, { zone: s.timeZone });
const parseLocal = (s: Schedule, text: string) => DateTime.fromISO(text, { zone: s.timeZone });

/**
 * Who a rotation has on call at `at`. Hand-offs happen at the local wall-clock time (so a
 * daylight-saving change moves them with the clock, as people expect); an override covering `at`
 * wins. Luxon does the time-zone maths.
 */
export function onCallFor(s: Schedule, rotationName: string, at: Date): { person: string; via: string } {
  const r = s.rotations.find((x) => x.name === rotationName);
  if (!r) throw new Error(`no rotation "${rotationName}"`);
  const now = local(s, at);
  const override = s.overrides.find((o) => o.rotation === r.name && parseLocal(s, o.from) <= now && now < parseLocal(s, o.to));
  if (override) return { person: override.person, via: `${r.name} (override)` };
  const [hour, minute] = r.handoff.split(':').map(Number) as [number, number];
  let shift = now.set({ hour, minute, second: 0, millisecond: 0 });
  let anchor = parseLocal(s, r.start).set({ hour, minute });
  if (r.length === 'weekly') {
    const day = weekdayNumber(r.handoffDay!);
    shift = shift.set({ weekday: day as 1 | 2 | 3 | 4 | 5 | 6 | 7 });
    anchor = anchor.set({ weekday: day as 1 | 2 | 3 | 4 | 5 | 6 | 7 });
  }
  const step = r.length === 'weekly' ? { weeks: 1 } : { days: 1 };
  if (shift > now) shift = shift.minus(step);
  // Calendar-unit difference: a 23- or 25-hour day still counts as one day.
  const shifts = Math.round(shift.diff(anchor, r.length === 'weekly' ? 'weeks' : 'days').as(r.length === 'weekly' ? 'weeks' : 'days'));
  const n = r.people.length;
  return { person: r.people[((shifts % n) + n) % n]!, via: r.name };
}

/** Business hours on a business day that is not a holiday, in the schedule's time zone. */
export function isBusinessHours(s: Schedule, at: Date): boolean {
  const now = local(s, at);
  const day = now.toFormat('ccc').toLowerCase();
  if (!s.businessHours.days.includes(day as never)) return false;
  if (s.holidays.includes(now.toISODate()!)) return false;
  const hhmm = now.toFormat('HH:mm');
  return hhmm >= s.businessHours.start && hhmm < s.businessHours.end;
}

/** The escalation chain as it stands at `at`: each level's target and wait. */
export function escalationChain(s: Schedule, at: Date): ResolvedLevel[] {
  return s.escalation.map((l, i) => {
    if (l.rotation) {
      const { person, via } = onCallFor(s, l.rotation, at);
      return { level: i + 1, target: { kind: 'person', person }, waitMinutes: l.waitMinutes, via };
    }
    if (l.person) return { level: i + 1, target: { kind: 'person', person: l.person }, waitMinutes: l.waitMinutes, via: 'named in the chain' };
    return { level: i + 1, target: { kind: 'channel' }, waitMinutes: l.waitMinutes, via: 'the SOC channel' };
  });
}

/**
 * The next hand-off of any rotation after `at` (or of `rotationName` only): when, and the rotation.
 * Overrides aside: it is the wall-clock hand-off of the rotation itself, in the schedule's zone.
 */
export function nextHandoff(s: Schedule, at: Date, rotationName?: string): { at: Date; rotation: string } | undefined {
  const now = local(s, at);
  const next = s.rotations
    .filter((r) => !rotationName || r.name === rotationName)
    .map((r) => {
      const [hour, minute] = r.handoff.split(':').map(Number) as [number, number];
      let t = now.set({ hour, minute, second: 0, millisecond: 0 });
      if (r.length === 'weekly') {
        t = t.set({ weekday: weekdayNumber(r.handoffDay!) as 1 | 2 | 3 | 4 | 5 | 6 | 7 });
        if (t <= now) t = t.plus({ weeks: 1 });
      } else if (t <= now) t = t.plus({ days: 1 });
      return { at: t.toJSDate(), rotation: r.name };
    })
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  return next[0];
}

/** A time as the schedule's people read it: "Tue 09:00 (Europe/Amsterdam)". */
export const scheduleTime = (s: Schedule, at: Date): string => `${DateTime.fromJSDate(at, { zone: s.timeZone }).toFormat('ccc d LLL HH:mm')} (${s.timeZone})`;
