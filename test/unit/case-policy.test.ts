import { parseCasePolicy, shouldOpenCase } from '../../src/cases/case-policy';
import { parseIncident } from '../../src/incidents/parse-incident';
import { demoIncident, withProperties } from '../helpers/fixtures';

const incident = (changes: Record<string, unknown> = {}) => parseIncident(withProperties(demoIncident('brute-force-admin'), changes), { portalUrl: 'https://portal.azure.com' });

const POLICY = `# Critical → ServiceNow, and every High from the production workspace
open:
  - { assessedSeverity: [Critical] }
  - { sentinelSeverity: [High], workspaces: [soc-rg/soc-workspace] }
  - { ruleIds: [77ad0693-894d-5510-aedc-8dc934705e12], severity: [Medium, High, Critical] }
never:
  - { titleMatches: "^\\\\[TEST\\\\]" }
`;

describe('which incidents open a case', () => {
  const policy = parseCasePolicy(POLICY, 'cases.yaml');

  it('opens one for an assessed Critical, whatever Sentinel said', () => {
    expect(shouldOpenCase(incident({ severity: 'Low' }), 'Critical', policy)).toEqual({ open: true, because: 'assessed Critical' });
  });

  it('matches Sentinel severity with the workspace, and an analytic rule with the effective severity', () => {
    expect(shouldOpenCase(incident({ severity: 'High' }), undefined, policy)).toMatchObject({ open: true, because: 'Sentinel severity High, workspace soc-workspace' });
    const other = parseCasePolicy('open:\n  - { sentinelSeverity: [High], workspaces: [another-workspace] }\n');
    expect(shouldOpenCase(incident({ severity: 'High' }), undefined, other)).toEqual({ open: false, because: 'no case rule matches' });
    expect(shouldOpenCase(incident({ severity: 'Medium' }), undefined, policy)).toMatchObject({ open: true, because: 'severity Medium, analytic rule' });
    expect(shouldOpenCase(incident({ severity: 'Low' }), undefined, policy)).toMatchObject({ open: false });
    expect(shouldOpenCase(incident({ severity: 'Low', relatedAnalyticRuleIds: [] }), 'High', policy)).toMatchObject({ open: false });
  });

  it('lets never win, and opens nothing for a closed incident', () => {
    expect(shouldOpenCase(incident({ title: '[TEST] drill' }), 'Critical', policy)).toMatchObject({ open: false, because: expect.stringMatching(/^never opens a case: title/) });
    expect(shouldOpenCase(incident({ status: 'Closed', classification: 'TruePositive' }), 'Critical', policy)).toEqual({ open: false, because: 'the incident is closed' });
    expect(shouldOpenCase(incident(), 'Critical', parseCasePolicy('{}'))).toMatchObject({ open: false });
  });

  it('lists every problem with its line', () => {
    const bad = `open:
  - { sentinelSeverity: [Critical] }
  - { titleMatches: "(" }
  - {}
never:
  - { workspace: [x] }
`;
    let message = '';
    try {
      parseCasePolicy(bad, 'cases.yaml');
    } catch (e) {
      message = (e as Error).message;
      expect(e).toMatchObject({ code: 'CONFIG_INVALID' });
    }
    expect(message).toMatch(/cases\.yaml line 2: open\.0\.sentinelSeverity\.0/);
    expect(message).toMatch(/cases\.yaml line 3: open\.1\.titleMatches: must be a valid regular expression/);
    expect(message).toMatch(/cases\.yaml line 4: open\.2: needs at least one of/);
    expect(message).toMatch(/cases\.yaml line 6: never\.0/);
    expect(() => parseCasePolicy('open: [', 'cases.yaml')).toThrow(/cases\.yaml is not valid YAML/);
  });
});
