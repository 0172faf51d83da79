import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { buildPagerDutyWebhook, sendPagerDutyWebhook, signPagerDutyWebhook } from '../../sandbox/pagerduty-webhooks';
import { handlePagerDutyWebhook, type PagerDutyIncidentEvent } from '../../src/paging/pagerduty-webhook';
import { fixture } from '../helpers/fixtures';

const OLD = 'old-webhook-secret-0123456789abcdef';
const NEW = 'new-webhook-secret-fedcba9876543210';
const KEY =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/soc-rg/providers/microsoft.operationalinsights/workspaces/soc-workspace/providers/microsoft.securityinsights/incidents/6a1f3b7c';

/** PagerDuty's published payload with the event type changed (it publishes no acknowledged example). */
const published = (eventType: string) => {
  const p = fixture('test/fixtures/contracts/webhook-v3.incident.priority_updated.payload.json');
  p.event.event_type = eventType;
  p.event.data.incident_key = KEY;
  return JSON.stringify(p);
};
const sign = (body: string, secret: string) => `v1=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;

describe('PagerDuty v3 webhooks', () => {
  let applied: PagerDutyIncidentEvent[];
  const deps = (secrets = [NEW]) => ({ secrets, apply: async (e: PagerDutyIncidentEvent) => void applied.push(e) });
  beforeEach(() => (applied = []));

  it('applies a signed incident.acknowledged as a typed event: incident, dedup key, who, when', async () => {
    const body = published('incident.acknowledged');
    const res = await handlePagerDutyWebhook(Buffer.from(body), { 'X-PagerDuty-Signature': sign(body, NEW), 'x-webhook-id': 'wh-1' }, deps());
    expect(res).toEqual({ status: 202, body: { status: 'applied', message: 'incident.acknowledged applied' } });
    expect(applied).toEqual([
      {
        type: 'acknowledged',
        eventId: '5ac64822-4adc-4fda-ade0-410becf0de4f',
        webhookId: 'wh-1',
        incidentId: 'PGR0VU2',
        incidentNumber: 2,
        dedupKey: KEY,
        title: 'A little bump in the road',
        url: 'https://acme.pagerduty.com/incidents/PGR0VU2',
        by: { id: 'PLH1HKV', name: 'Tenex Engineer', type: 'user_reference' },
        assignees: [{ id: 'PTUXL6G', name: 'User 123' }],
        at: new Date('2020-10-02T18:45:22.169Z'),
      },
    ]);
  });

  it('parses resolved and reassigned, and ignores (202) other events without applying them', async () => {
    for (const t of ['incident.resolved', 'incident.reassigned']) {
      const body = published(t);
      expect((await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, NEW) }, deps())).status).toBe(202);
    }
    expect(applied.map((e) => e.type)).toEqual(['resolved', 'reassigned']);
    for (const t of ['incident.priority_updated', 'pagey.ping']) {
      const body = published(t);
      expect(await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, NEW) }, deps())).toMatchObject({ status: 202, body: { status: 'ignored' } });
    }
    expect(applied).toHaveLength(2);
  });

  it('accepts either secret during a rotation, and a header carrying several signatures', async () => {
    const body = published('incident.acknowledged');
    expect((await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, OLD) }, deps([NEW, OLD]))).status).toBe(202);
    expect((await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': `${sign(body, 'someone-else')},${sign(body, NEW)}` }, deps([NEW]))).status).toBe(202);
    expect((await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': signPagerDutyWebhook(body, [OLD, NEW]) }, deps([NEW]))).status).toBe(202);
    expect(applied).toHaveLength(3);
  });

  it('refuses a missing, wrong or stale signature, or an altered body, with 401, and applies nothing', async () => {
    const body = published('incident.acknowledged');
    const cases: Array<[string, Record<string, string>]> = [
      [body, {}],
      [body, { 'x-pagerduty-signature': '' }],
      [body, { 'x-pagerduty-signature': sign(body, 'wrong-secret') }],
      [body, { 'x-pagerduty-signature': sign(body, OLD) }], // the old secret, after the rotation finished
      [body, { 'x-pagerduty-signature': sign(body, NEW).replace('v1=', 'v0=') }],
      [body, { 'x-pagerduty-signature': sign(body, NEW).slice(0, 40) }],
      [body.replace('Tenex Engineer', 'Mallory'), { 'x-pagerduty-signature': sign(body, NEW) }],
    ];
    for (const [b, h] of cases) expect(await handlePagerDutyWebhook(b, h, deps())).toMatchObject({ status: 401, body: { status: 'refused' } });
    expect((await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, NEW) }, deps([]))).status).toBe(401);
    expect(applied).toEqual([]);
  });

  it('answers 400 for a signed body that is not a webhook, and 500 (PagerDuty retries) when applying fails', async () => {
    for (const body of ['not json', '{}', '{"event":{"id":"x"}}', JSON.stringify({ event: { ...JSON.parse(published('incident.acknowledged')).event, data: { id: 'P1', type: 'service' } } })]) {
      expect(await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, NEW) }, deps())).toMatchObject({ status: 400, body: { status: 'invalid' } });
    }
    const body = published('incident.resolved');
    const failing = { secrets: [NEW], apply: async () => Promise.reject(new Error('db down, password=hunter2')) };
    const res = await handlePagerDutyWebhook(body, { 'x-pagerduty-signature': sign(body, NEW) }, failing);
    expect(res.status).toBe(500);
    expect(JSON.stringify(res)).not.toContain('hunter2');
  });

  it('never throws and never applies without a valid signature, whatever the body and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.json(), fc.constant(published('incident.acknowledged'))),
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()))),
        fc.boolean(),
        async (body, headers, signIt) => {
          const h: Record<string, string | string[]> = { ...headers };
          if (signIt) h['X-PagerDuty-Signature'] = sign(body, NEW);
          const res = await handlePagerDutyWebhook(body, h, deps());
          expect([202, 400, 401, 413]).toContain(res.status);
          const signed = Object.entries(h).some(([k, v]) => k.toLowerCase() === 'x-pagerduty-signature' && String(v).includes(sign(body, NEW)));
          if (!signed) expect(res.status).toBe(401);
        },
      ),
      { numRuns: 300 },
    );
    expect(applied.every((e) => e.type === 'acknowledged')).toBe(true);
  });

  it('takes what the sandbox sends over HTTP, signed with the raw body', async () => {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void handlePagerDutyWebhook(Buffer.concat(chunks), req.headers, deps([NEW, OLD])).then((a) => {
          res.writeHead(a.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(a.body));
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/pagerduty`;
    try {
      const ack = await sendPagerDutyWebhook(url, 'incident.acknowledged', { dedupKey: KEY, agent: { id: 'PABC123', name: 'Alex Wilber' }, secrets: [NEW] });
      expect(ack.status).toBe(202);
      expect(applied[0]).toMatchObject({ type: 'acknowledged', dedupKey: KEY, by: { id: 'PABC123', name: 'Alex Wilber' } });
      const moved = await sendPagerDutyWebhook(url, 'incident.reassigned', {
        dedupKey: KEY,
        agent: { id: 'PABC123', name: 'Alex Wilber' },
        assignees: [{ id: 'PMEG456', name: 'Megan Bowen' }],
        secrets: [OLD],
      });
      expect(moved.status).toBe(202);
      expect(applied[1]).toMatchObject({ type: 'reassigned', assignees: [{ id: 'PMEG456', name: 'Megan Bowen' }] });
      expect((await sendPagerDutyWebhook(url, 'incident.resolved', { dedupKey: KEY, secrets: [NEW], signature: null })).status).toBe(401);
      expect((await sendPagerDutyWebhook(url, 'incident.resolved', { dedupKey: KEY, secrets: ['not-the-secret'] })).status).toBe(401);
      expect(applied).toHaveLength(2);
      expect(buildPagerDutyWebhook('incident.resolved', { dedupKey: KEY, agent: null }).event.agent).toBeNull();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
