import { parseIncident } from '../../src/incidents/parse-incident';
import { renderPageCard } from '../../src/paging/render-page-card';
import { demoIncident } from '../helpers/fixtures';

const page = { id: 1, incidentKey: 'k', state: 'open', reason: 'High', createdAt: new Date(0) } as unknown as Parameters<typeof renderPageCard>[0]['page'];
const incident = parseIncident(demoIncident('brute-force-admin').object, { portalUrl: 'https://portal.azure.com' });
const text = (workspace?: string) => JSON.stringify(renderPageCard({ page, incident: { ...incident, workspace }, severity: 'High', levels: [{ level: 1, who: 'Megan Bowen' }] }));

describe('the page card names its incident as chat does', () => {
  it('with several workspaces, by workspace and number: two workspaces may both have a 1041', () => {
    expect(text('fabrikam')).toContain(`Incident fabrikam/${incident.number}`);
    expect(text('fabrikam')).not.toContain(`#${incident.number}`);
  });

  it('with one workspace, by number as before', () => {
    expect(text(undefined)).toContain(`Incident #${incident.number}`);
  });
});
