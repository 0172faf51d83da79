import { z } from 'zod';
import { workspaceOfIncidentId, type Incident } from '../incidents/incident';
import { parseYamlConfig, readConfigFile, regexPattern } from '../yaml-config';

const sentinelSeverity = z.enum(['High', 'Medium', 'Low', 'Informational']);
const anySeverity = z.enum(['Critical', 'High', 'Medium', 'Low', 'Informational']);

const rule = z
  .object({
    /** The effective severity: Vigil's assessed one when enrichment has it, else Sentinel's (as the paging policy reads it). */
    severity: z.array(anySeverity).min(1).optional(),
    sentinelSeverity: z.array(sentinelSeverity).min(1).optional(),
    assessedSeverity: z
      .array(z.enum(['Critical', 'High']))
      .min(1)
      .optional(),
    /** Analytic rule ids: the rule's GUID or its full ARM id (compared by ending, case-insensitively). */
    ruleIds: z.array(z.string().trim().min(1)).min(1).optional(),
    /** Sentinel names an incident after its analytic rule unless the rule overrides it, so a rule's name is matched in the title. */
    titleMatches: regexPattern().optional(),
    /** Workspace names, or `<resource group>/<workspace>`. */
    workspaces: z.array(z.string().trim().min(1)).min(1).optional(),
  })
  .strict()
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'needs at least one of severity, sentinelSeverity, assessedSeverity, ruleIds, titleMatches, workspaces');

const policySchema = z.object({ open: z.array(rule).default([]), never: z.array(rule).default([]) }).strict();

export type CaseRule = z.infer<typeof rule>;
export interface CasePolicy {
  open: CaseRule[];
  never: CaseRule[];
}

export type CaseDecision = { open: true; because: string } | { open: false; because: string };

const workspaceMatches = (incident: Incident, names: string[]) => {
  const w = workspaceOfIncidentId(incident.id);
  if (!w) return false;
  return names.some((n) => {
    const [a, b] = n.toLowerCase().split('/');
    return b === undefined ? a === w.workspaceName.toLowerCase() : a === w.resourceGroup.toLowerCase() && b === w.workspaceName.toLowerCase();
  });
};

const matches = (r: CaseRule, incident: Incident, assessed: 'Critical' | 'High' | undefined) =>
  (!r.severity || r.severity.includes(assessed ?? incident.severity)) &&
  (!r.sentinelSeverity || r.sentinelSeverity.includes(incident.severity)) &&
  (!r.assessedSeverity || (assessed !== undefined && r.assessedSeverity.includes(assessed))) &&
  (!r.ruleIds || r.ruleIds.some((id) => incident.ruleIds.some((own) => own.toLowerCase().endsWith(id.toLowerCase())))) &&
  (!r.titleMatches || new RegExp(r.titleMatches, 'i').test(incident.title)) &&
  (!r.workspaces || workspaceMatches(incident, r.workspaces));

const describe = (r: CaseRule, incident: Incident, assessed: string | undefined) =>
  [
    r.severity && `severity ${assessed ?? incident.severity}`,
    r.sentinelSeverity && `Sentinel severity ${incident.severity}`,
    r.assessedSeverity && `assessed ${assessed}`,
    r.ruleIds && 'analytic rule',
    r.titleMatches && `title /${r.titleMatches}/`,
    r.workspaces && `workspace ${workspaceOfIncidentId(incident.id)?.workspaceName}`,
  ]
    .filter(Boolean)
    .join(', ');

/**
 * Whether an incident opens a case: rules are alternatives, a rule's conditions all hold, a `never`
 * rule wins, and a closed incident opens none. Pure. A responder may still open one by hand.
 */
export function shouldOpenCase(incident: Incident, assessedSeverity: 'Critical' | 'High' | undefined, policy: CasePolicy): CaseDecision {
  if (incident.status === 'Closed') return { open: false, because: 'the incident is closed' };
  const never = policy.never.find((r) => matches(r, incident, assessedSeverity));
  if (never) return { open: false, because: `never opens a case: ${describe(never, incident, assessedSeverity)}` };
  const rule = policy.open.find((r) => matches(r, incident, assessedSeverity));
  return rule ? { open: true, because: describe(rule, incident, assessedSeverity) } : { open: false, because: 'no case rule matches' };
}

/** Reads the case policy (YAML or JSON); every problem with its line, at once, in one CONFIG_INVALID error. */
export const parseCasePolicy = (text: string, source = 'the case policy'): CasePolicy => parseYamlConfig(text, source, policySchema);

export const loadCasePolicy = (path: string): CasePolicy => parseCasePolicy(readConfigFile('VIGIL_CASE_POLICY_FILE', path), path);
