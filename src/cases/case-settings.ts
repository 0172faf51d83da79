import { z } from 'zod';
import { AppError } from '../errors';
import type { CaseSeverity, CaseSystem } from './case-system';
import { createJira, DEFAULT_JIRA_PRIORITIES, PROJECT_KEY } from './jira';
import { createServiceNow, SERVICENOW_TABLE_DEFAULTS, type ServiceNowAuth } from './servicenow';

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** https, or http to loopback only (the sandbox): credentials never cross a network in the clear. */
const endpoint = optionalText.refine(
  (v) => v === undefined || (URL.canParse(v) && (new URL(v).protocol === 'https:' || (new URL(v).protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(v).hostname)))),
  'must be an https URL (http only to 127.0.0.1, for the sandbox)',
);

const stateList = z
  .string()
  .optional()
  .transform((v) =>
    v === undefined
      ? undefined
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  )
  .refine((v) => v === undefined || (v.length > 0 && v.every((s) => /^-?\d+$/.test(s))), 'must be a comma-separated list of state values (numbers, as 6,7,8)');

const SEVERITIES = ['Critical', 'High', 'Medium', 'Low', 'Informational'] as const;
const priorities = z
  .string()
  .optional()
  .transform((v, ctx): Partial<Record<CaseSeverity, string>> | undefined => {
    if (v === undefined || v.trim() === '') return DEFAULT_JIRA_PRIORITIES;
    if (v.trim() === 'off') return undefined;
    const map: Partial<Record<CaseSeverity, string>> = {};
    for (const pair of v.split(',')) {
      const [sev, name] = pair.split('=').map((s) => s.trim());
      if (!SEVERITIES.includes(sev as CaseSeverity) || !name) {
        ctx.addIssue({ code: 'custom', message: `must be severity=priority pairs (Critical=Highest,High=High,…) or off; not ${JSON.stringify(pair.trim().slice(0, 40))}` });
        return z.NEVER;
      }
      map[sev as CaseSeverity] = name;
    }
    return map;
  });

export const caseEnvSchema = z.object({
  VIGIL_CASE_SYSTEM: optionalText.pipe(z.enum(['servicenow', 'jira']).optional()),
  VIGIL_CASE_POLICY_FILE: optionalText,
  VIGIL_CASE_WATCH_SECONDS: optionalText
    .transform((v) => Number(v ?? '60'))
    .pipe(z.number().int('must be a whole number of seconds').min(0, 'must be 0 (off) or more').max(86_400, 'must be at most 86400 (a day)')),
  SERVICENOW_INSTANCE_URL: endpoint,
  SERVICENOW_TABLE: optionalText.pipe(z.enum(['incident', 'sn_si_incident']).optional()),
  SERVICENOW_CLIENT_ID: optionalText,
  SERVICENOW_CLIENT_SECRET: optionalText,
  SERVICENOW_USERNAME: optionalText,
  SERVICENOW_PASSWORD: optionalText,
  SERVICENOW_RESOLVED_STATE: optionalText.refine((v) => v === undefined || /^-?\d+$/.test(v), 'must be a state value (a number: 6 is Resolved on incident in the default setup)'),
  SERVICENOW_DONE_STATES: stateList,
  SERVICENOW_CLOSE_CODE: z.string().trim().min(1).default('Solution provided'),
  SERVICENOW_ASSIGNMENT_GROUP: optionalText.refine((v) => v === undefined || /^[0-9a-f]{32}$/.test(v), 'must be the sys_id of a group (32 hex characters)'),
  JIRA_BASE_URL: endpoint,
  JIRA_EMAIL: optionalText.refine((v) => v === undefined || /^[^\s@]+@[^\s@]+$/.test(v), 'must be the e-mail address of the Atlassian account the API token belongs to'),
  JIRA_API_TOKEN: optionalText,
  JIRA_PROJECT_KEY: optionalText.refine((v) => v === undefined || PROJECT_KEY.test(v), 'must be a project key (upper-case letters and digits, as SOC)'),
  JIRA_ISSUE_TYPE: z.string().trim().min(1).default('Task'),
  JIRA_PRIORITIES: priorities,
});

export type CaseSystemSettings =
  | { kind: 'servicenow'; instanceUrl: string; table: 'incident' | 'sn_si_incident'; auth: ServiceNowAuth; resolvedState: string; doneStates: string[]; closeCode: string; assignmentGroup?: string }
  | { kind: 'jira'; baseUrl: string; email: string; apiToken: string; projectKey: string; issueType: string; priorities?: Partial<Record<CaseSeverity, string>> };

export interface CaseSettings {
  system: CaseSystemSettings;
  /** Which incidents open a case by themselves; without one, cases are opened only by hand. */
  policyFile?: string;
  /** How often open cases are read again (resolved on the other side?); 0: only at the incident's changes. */
  watchMs: number;
}

/**
 * The case system's settings, or undefined when VIGIL_CASE_SYSTEM is unset. Throws one
 * CONFIG_INVALID error listing every problem (never a value: these include secrets).
 */
export function parseCaseSettings(env: Record<string, string | undefined>): CaseSettings | undefined {
  const parsed = caseEnvSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`);
  // What is missing is judged on the raw values, so one error lists it beside what is malformed.
  const has = (name: string) => Boolean(env[name]?.trim());
  const need = (name: string, why: string) => {
    if (!has(name) && !problems.some((p) => p.startsWith(`${name}:`))) problems.push(`${name}: ${why}`);
  };
  const system = env.VIGIL_CASE_SYSTEM?.trim();
  if (!system && has('VIGIL_CASE_POLICY_FILE')) problems.push('VIGIL_CASE_SYSTEM: VIGIL_CASE_POLICY_FILE says which incidents open a case; set VIGIL_CASE_SYSTEM=servicenow or jira to say where');
  if (system === 'servicenow') {
    need('SERVICENOW_INSTANCE_URL', 'required with VIGIL_CASE_SYSTEM=servicenow (https://<instance>.service-now.com)');
    const oauth = has('SERVICENOW_CLIENT_ID') || has('SERVICENOW_CLIENT_SECRET');
    const basic = has('SERVICENOW_USERNAME') || has('SERVICENOW_PASSWORD');
    if (oauth && basic) problems.push('SERVICENOW_CLIENT_ID or SERVICENOW_USERNAME: set one way to sign in, OAuth client credentials or basic, not both');
    else if (oauth) {
      need('SERVICENOW_CLIENT_ID', 'needed with SERVICENOW_CLIENT_SECRET (the OAuth application registry entry)');
      need('SERVICENOW_CLIENT_SECRET', 'needed with SERVICENOW_CLIENT_ID');
    } else if (basic) {
      need('SERVICENOW_USERNAME', 'needed with SERVICENOW_PASSWORD');
      need('SERVICENOW_PASSWORD', 'needed with SERVICENOW_USERNAME');
    } else problems.push('SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET (OAuth client credentials) or SERVICENOW_USERNAME and SERVICENOW_PASSWORD: ServiceNow needs one way to sign in');
  } else if (system === 'jira') {
    need('JIRA_BASE_URL', 'required with VIGIL_CASE_SYSTEM=jira (https://<site>.atlassian.net)');
    need('JIRA_EMAIL', 'required with VIGIL_CASE_SYSTEM=jira (the account the API token belongs to)');
    need('JIRA_API_TOKEN', 'required with VIGIL_CASE_SYSTEM=jira (create one at id.atlassian.com)');
    need('JIRA_PROJECT_KEY', 'required with VIGIL_CASE_SYSTEM=jira (the project new issues go to, as SOC)');
  }
  if (!parsed.success || problems.length > 0) throw configError(problems);
  const e = parsed.data;
  if (!e.VIGIL_CASE_SYSTEM) return undefined;

  const trim = (u: string) => u.replace(/\/+$/, '');
  if (e.VIGIL_CASE_SYSTEM === 'servicenow') {
    const table = e.SERVICENOW_TABLE ?? 'incident';
    const defaults = SERVICENOW_TABLE_DEFAULTS[table]!;
    const resolvedState = e.SERVICENOW_RESOLVED_STATE ?? defaults.resolvedState;
    return {
      policyFile: e.VIGIL_CASE_POLICY_FILE,
      watchMs: e.VIGIL_CASE_WATCH_SECONDS * 1000,
      system: {
        kind: 'servicenow',
        instanceUrl: trim(e.SERVICENOW_INSTANCE_URL!),
        table,
        auth: e.SERVICENOW_CLIENT_ID
          ? { kind: 'oauth', clientId: e.SERVICENOW_CLIENT_ID, clientSecret: e.SERVICENOW_CLIENT_SECRET! }
          : { kind: 'basic', username: e.SERVICENOW_USERNAME!, password: e.SERVICENOW_PASSWORD! },
        resolvedState,
        doneStates: [...new Set([resolvedState, ...(e.SERVICENOW_DONE_STATES ?? defaults.doneStates)])],
        closeCode: e.SERVICENOW_CLOSE_CODE,
        assignmentGroup: e.SERVICENOW_ASSIGNMENT_GROUP,
      },
    };
  }
  return {
    policyFile: e.VIGIL_CASE_POLICY_FILE,
    watchMs: e.VIGIL_CASE_WATCH_SECONDS * 1000,
    system: {
      kind: 'jira',
      baseUrl: trim(e.JIRA_BASE_URL!),
      email: e.JIRA_EMAIL!,
      apiToken: e.JIRA_API_TOKEN!,
      projectKey: e.JIRA_PROJECT_KEY!,
      issueType: e.JIRA_ISSUE_TYPE,
      priorities: e.JIRA_PRIORITIES,
    },
  };
}

/** The case system the settings name, over the one HTTP client. */
export function createCaseSystem(s: CaseSystemSettings, o: { timeoutMs: number }): CaseSystem {
  if (s.kind === 'servicenow') {
    const { kind: _, ...rest } = s;
    return createServiceNow({ ...rest, timeoutMs: o.timeoutMs });
  }
  const { kind: _, ...rest } = s;
  return createJira({ ...rest, timeoutMs: o.timeoutMs });
}

const configError = (problems: string[]) => new AppError('CONFIG_INVALID', `Vigil cannot start; fix these settings:\n  - ${problems.join('\n  - ')}`, { problems });
