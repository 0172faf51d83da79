import { startSentinel, type SentinelStandIn } from '../../sandbox/sentinel';
import { createSentinelClient } from '../../src/sentinel/sentinel-client';
import { fixture } from '../helpers/fixtures';

describe('writing back to the Sentinel incident', () => {
  let sentinel: SentinelStandIn;
  const incident = fixture('test/fixtures/contracts/GetIncidentById.2024-09-01.json').responses['200'].body;
  beforeAll(async () => {
    sentinel = await startSentinel({ incidents: [incident] });
  });
  afterAll(() => sentinel.close());
  const client = () =>
    createSentinelClient({ armEndpoint: sentinel.url, subscriptionId: 'd0cfe6b2-9ac0-4464-9919-dccaee2e48c0', resourceGroup: 'myRg', workspaceName: 'myWorkspace', timeoutMs: 2000 });

  it('adds a comment once per comment id, however often the write is retried', async () => {
    const message = 'Vigil: blocked 203.0.113.66 on edge-nsg. Requested by Alex Wilber, approved by Megan Bowen.';
    await client().addComment(incident.id, '5c1f2b9a-0000-4000-8000-000000000001', message);
    await client().addComment(incident.id, '5c1f2b9a-0000-4000-8000-000000000001', message);
    expect(sentinel.comments.get(incident.name)).toEqual([{ name: '5c1f2b9a-0000-4000-8000-000000000001', message }]);
    const [put] = sentinel.requests('PUT');
    expect(put!.query['api-version']).toBe('2025-09-01');
    expect(put!.body).toEqual({ properties: { message } });
  });

  it('refuses ids that could change the path, and says what Sentinel answered', async () => {
    await expect(client().addComment(incident.id, '../../x', 'm')).rejects.toThrow('not a Sentinel incident or comment id');
    await expect(client().addComment(incident.id.replace(/[^/]+$/, 'no-such-incident'), 'c1', 'm')).rejects.toThrow('Sentinel answered 404 NotFound');
  });
});
