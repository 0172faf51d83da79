import { z } from 'zod';
import { IANAZone } from 'luxon';
import { isUserId } from '../ids';
import { regexPattern } from '../yaml-config';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const weekdayNumber = (d: Weekday) => WEEKDAYS.indexOf(d) + 1;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time like 09:00');
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-12-25');
const localDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time like 2026-11-24T18:00');
/** An Entra object id or a UPN: how people are named in the schedule. */
const person = z.string().refine(isUserId, 'must be an Entra object id or a UPN');
const severity = z.enum(['Critical', 'High', 'Medium', 'Low', 'Informational']);

const rule = z
  .object({
    severity: z.array(severity).min(1).optional(),
    outsideBusinessHours: z.boolean().optional(),
    titleMatches: regexPattern().optional(),
    ruleIds: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((r) => r.severity || r.titleMatches || r.ruleIds, 'needs at least one of severity, titleMatches, ruleIds');

export const scheduleSchema = z
  .object({
    timeZone: z.string().refine((tz) => IANAZone.isValidZone(tz), 'must be an IANA time zone like Europe/Amsterdam'),
    businessHours: z.object({ days: z.array(z.enum(WEEKDAYS)).min(1), start: hhmm, end: hhmm }).strict(),
    holidays: z.array(date).default([]),
    rotations: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a short lower-case name'),
            length: z.enum(['daily', 'weekly']),
            handoff: hhmm,
            handoffDay: z.enum(WEEKDAYS).optional(),
            start: date,
            people: z.array(person).min(1, 'needs at least one person: nobody on call is never allowed'),
          })
          .strict(),
      )
      .min(1, 'needs at least one rotation'),
    overrides: z.array(z.object({ rotation: z.string(), person, from: localDateTime, to: localDateTime }).strict()).default([]),
    escalation: z
      .array(
        z
          .object({
            rotation: z.string().optional(),
            person: person.optional(),
            channel: z.literal(true).optional(),
            waitMinutes: z.number().int().min(1).max(1440),
          })
          .strict()
          .refine((l) => [l.rotation, l.person, l.channel].filter((x) => x !== undefined).length === 1, 'names exactly one of rotation, person, channel'),
      )
      .min(1, 'needs at least one level'),
    policy: z.object({ page: z.array(rule).min(1), never: z.array(rule).default([]) }).strict(),
  })
  .strict();

export type Schedule = z.infer<typeof scheduleSchema>;
export type PageRule = Schedule['policy']['page'][number];
export type EscalationLevel = Schedule['escalation'][number];
