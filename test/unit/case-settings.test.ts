import { parseCaseSettings } from '../../src/cases/case-settings';

const problemsOf = (env: Record<string, string>): string => {
  try {
    parseCaseSettings(env);
  } catch (e) {
    expect(e).toMatchObject({ code: 'CONFIG_INVALID' });
    return (e as Error).message;
  }
  return '';
};

describe('case system settings', () => {
  it('are off without VIGIL_CASE_SYSTEM', () => {
    expect(parseCaseSettings({})).toBeUndefined();
    expect(problemsOf({ VIGIL_CASE_POLICY_FILE: 'cases.yaml' })).toMatch(/VIGIL_CASE_SYSTEM: /);
  });

  it('read ServiceNow with OAuth client credentials and the incident table defaults', () => {
    expect(
      parseCaseSettings({
        VIGIL_CASE_SYSTEM: 'servicenow',
        SERVICENOW_INSTANCE_URL: 'https://contoso.service-now.com/',
        SERVICENOW_CLIENT_ID: 'id',
        SERVICENOW_CLIENT_SECRET: 's3cret',
        VIGIL_CASE_POLICY_FILE: 'cases.yaml',
      }),
    ).toEqual({
      policyFile: 'cases.yaml',
      watchMs: 60_000,
      system: {
        kind: 'servicenow',
        instanceUrl: 'https://contoso.service-now.com',
        table: 'incident',
        auth: { kind: 'oauth', clientId: 'id', clientSecret: 's3cret' },
        resolvedState: '6',
        doneStates: ['6', '7', '8'],
        closeCode: 'Solution provided',
        assignmentGroup: undefined,
      },
    });
  });

  it('read ServiceNow basic auth on the Security Incident table, with its own resolved state', () => {
    const s = parseCaseSettings({
      VIGIL_CASE_SYSTEM: 'servicenow',
      SERVICENOW_INSTANCE_URL: 'http://127.0.0.1:4020',
      SERVICENOW_TABLE: 'sn_si_incident',
      SERVICENOW_USERNAME: 'u',
      SERVICENOW_PASSWORD: 'p',
      SERVICENOW_RESOLVED_STATE: '100',
      SERVICENOW_CLOSE_CODE: 'Resolved',
    });
    expect(s?.system).toMatchObject({ table: 'sn_si_incident', auth: { kind: 'basic', username: 'u', password: 'p' }, resolvedState: '100', doneStates: ['100', '3', '7'], closeCode: 'Resolved' });
  });

  it('read how often open cases are read again, 0 for never, and refuse what is not a number of seconds', () => {
    const env = { VIGIL_CASE_SYSTEM: 'servicenow', SERVICENOW_INSTANCE_URL: 'https://contoso.service-now.com', SERVICENOW_CLIENT_ID: 'id', SERVICENOW_CLIENT_SECRET: 's' };
    expect(parseCaseSettings({ ...env, VIGIL_CASE_WATCH_SECONDS: '15' })?.watchMs).toBe(15_000);
    expect(parseCaseSettings({ ...env, VIGIL_CASE_WATCH_SECONDS: '0' })?.watchMs).toBe(0);
    expect(problemsOf({ ...env, VIGIL_CASE_WATCH_SECONDS: 'soon' })).toMatch(/VIGIL_CASE_WATCH_SECONDS: /);
    expect(problemsOf({ ...env, VIGIL_CASE_WATCH_SECONDS: '-1' })).toMatch(/VIGIL_CASE_WATCH_SECONDS: must be 0 \(off\) or more/);
  });

  it('read Jira with the default issue type and priorities, or none', () => {
    const env = { VIGIL_CASE_SYSTEM: 'jira', JIRA_BASE_URL: 'https://contoso.atlassian.net', JIRA_EMAIL: 'soc@contoso.example', JIRA_API_TOKEN: 'tok', JIRA_PROJECT_KEY: 'SOC' };
    expect(parseCaseSettings(env)?.system).toMatchObject({ kind: 'jira', issueType: 'Task', priorities: { Critical: 'Highest', Informational: 'Lowest' } });
    expect(parseCaseSettings({ ...env, JIRA_PRIORITIES: 'off' })?.system).toMatchObject({ priorities: undefined });
    expect(parseCaseSettings({ ...env, JIRA_PRIORITIES: 'Critical=P1, High=P2' })?.system).toMatchObject({ priorities: { Critical: 'P1', High: 'P2' } });
  });

  it('list every problem at once, and never a secret', () => {
    const m = problemsOf({
      VIGIL_CASE_SYSTEM: 'servicenow',
      SERVICENOW_INSTANCE_URL: 'http://contoso.service-now.com',
      SERVICENOW_CLIENT_SECRET: 'hunter2-secret',
      SERVICENOW_RESOLVED_STATE: 'Resolved',
      SERVICENOW_ASSIGNMENT_GROUP: 'SOC',
      JIRA_PRIORITIES: 'Urgent',
    });
    for (const name of ['SERVICENOW_INSTANCE_URL', 'SERVICENOW_RESOLVED_STATE', 'SERVICENOW_ASSIGNMENT_GROUP', 'JIRA_PRIORITIES']) expect(m).toContain(`${name}:`);
    expect(m).not.toContain('hunter2');
    const m2 = problemsOf({ VIGIL_CASE_SYSTEM: 'servicenow', SERVICENOW_CLIENT_SECRET: 'hunter2-secret' });
    expect(m2).toMatch(/SERVICENOW_INSTANCE_URL: required[\s\S]*SERVICENOW_CLIENT_ID: needed/);
    expect(problemsOf({ VIGIL_CASE_SYSTEM: 'servicenow', SERVICENOW_INSTANCE_URL: 'https://x.service-now.com' })).toMatch(/ServiceNow needs one way to sign in/);
    expect(
      problemsOf({
        VIGIL_CASE_SYSTEM: 'servicenow',
        SERVICENOW_INSTANCE_URL: 'https://x.service-now.com',
        SERVICENOW_CLIENT_ID: 'a',
        SERVICENOW_CLIENT_SECRET: 'b',
        SERVICENOW_USERNAME: 'c',
        SERVICENOW_PASSWORD: 'd',
      }),
    ).toMatch(/not both/);
    const m3 = problemsOf({ VIGIL_CASE_SYSTEM: 'jira', JIRA_PROJECT_KEY: 'soc' });
    for (const name of ['JIRA_BASE_URL', 'JIRA_EMAIL', 'JIRA_API_TOKEN', 'JIRA_PROJECT_KEY']) expect(m3).toContain(`${name}:`);
    expect(problemsOf({ VIGIL_CASE_SYSTEM: 'zendesk' })).toContain('VIGIL_CASE_SYSTEM:');
  });
});
