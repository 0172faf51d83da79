import type { Incident } from '../incidents/incident';
import { isBusinessHours } from './on-call';
import type { PageRule, Schedule } from './schedule-types';

export type PageDecision = { page: true; because: string } | { page: false; because: string };

const matches = (r: PageRule, incident: Incident, severity: string, afterHours: boolean): boolean =>
  (!r.severity || r.severity.includes(severity as never)) &&
  (!r.outsideBusinessHours || afterHours) &&
  (!r.titleMatches || new RegExp(r.titleMatches, 'i').test(incident.title)) &&
  (!r.ruleIds || r.ruleIds.some((id) => incident.ruleIds.some((own) => own.toLowerCase().endsWith(id.toLowerCase()))));

/** The rule that matched, in words; it names the severity the incident had (not the rule's list). */
const describe = (r: PageRule, severity: string) =>
  [r.severity && `severity ${severity}`, r.outsideBusinessHours && 'outside business hours', r.titleMatches && `title /${r.titleMatches}/`, r.ruleIds && 'analytic rule'].filter(Boolean).join(', ');

/**
 * Whether an incident pages: a `never` rule wins over any `page` rule. `severity` is Vigil's
 * assessed severity when enrichment has one (Critical exists only there), else Sentinel's.
 */
export function decidePage(s: Schedule, incident: Incident, severity: string, at: Date): PageDecision {
  if (incident.status === 'Closed') return { page: false, because: 'the incident is closed' };
  const afterHours = !isBusinessHours(s, at);
  const never = s.policy.never.find((r) => matches(r, incident, severity, afterHours));
  if (never) return { page: false, because: `never pages: ${describe(never, severity)}` };
  const rule = s.policy.page.find((r) => matches(r, incident, severity, afterHours));
  return rule ? { page: true, because: describe(rule, severity) } : { page: false, because: 'no paging rule matches' };
}
