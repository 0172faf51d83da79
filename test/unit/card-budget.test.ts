import fc from 'fast-check';
import { CARD_BUDGET_BYTES, MAX_ACTIVITY_BYTES, cardBytes, jsonBytes } from '../../src/cards/budget';
import { truncate, untrusted } from '../../src/cards/markdown';
import type { CardAttachment } from '../../src/cards/render-card';
import { renderCard } from '../../src/cards/render-card';
import type { ActionRowView, Button } from '../../src/actions/render-action-view';
import { createHelpCommand } from '../../src/bot/commands/help';
import { commands } from '../../src/bot/commands';
import { renderEntityPage } from '../../src/bot/commands/entities';
import type { IncidentEnrichment } from '../../src/enrichment/summarize';
import type { SourceResult } from '../../src/enrichment/types';
import type { Entity, Incident } from '../../src/incidents/incident';
import { renderIncidentCard, type ResponseView } from '../../src/incidents/render-incident-card';
import { renderPageCard } from '../../src/paging/render-page-card';
import type { Digest } from '../../src/store/digest-queue';
import { renderDigestCard } from '../../src/teams/render-digest-card';
import { renderStatsCard } from '../../src/stats/render-stats-card';
import { renderShiftSummaryCard } from '../../src/stats/shift-summary';
import { cardProblems } from '../helpers/card-validation';
import { fixture } from '../helpers/fixtures';
import { openTestDb } from '../helpers/test-app';
import { createResponseViews } from '../../src/actions/response-view';
import type { CommandDeps } from '../../src/bot/command';
import { createLogger } from '../../src/logger';
import type { Db } from '../../src/store/db';
import { upsertIncident } from '../../src/store/incident-repository';
import { requestAction } from '../../src/store/action-repository';
import { audit } from '../../src/store/audit-repository';
import { saveTeamsUser } from '../../src/store/teams-user-repository';
import type { KqlTable } from '../../src/enrichment/kql-runner';

/** Everything an attacker may put in a string: markup, links, NUL, bidi overrides, broken and whole surrogate pairs, template syntax. */
const HOSTILE = '**[x](https://evil.example)** <at>Everyone</at> `c` ${$root.url} \u0000\u202e\ud800 😀 # h\n- li\n1. o www.evil.example ';
const hostile = (length: number) => HOSTILE.repeat(Math.ceil(length / HOSTILE.length)).slice(0, length);

/** The envelope of a reply in a Teams channel thread (Microsoft's own activity): ids as long as Teams makes them. */
const REPLY_ENVELOPE = (() => {
  const a = fixture('test/fixtures/contracts/activity.message.channel-mention.json');
  return {
    type: 'message',
    serviceUrl: a.serviceUrl,
    channelId: a.channelId,
    from: a.recipient,
    recipient: a.from,
    conversation: a.conversation,
    replyToId: a.id,
    channelData: a.channelData,
    locale: 'en-US',
    inputHint: 'acceptingInput',
    summary: `Incident #4294967296: Informational`,
  };
})();

/** The activity as it would leave Vigil: the card in the largest envelope it is sent in. */
const activityBytes = (card: CardAttachment) => jsonBytes({ ...REPLY_ENVELOPE, attachments: [card] });

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const strings = (node: unknown): string[] => {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === 'object') return Object.values(node).flatMap(strings);
  return [];
};

/** What every card must be: inside the budget and the activity limit, parser-clean, no broken text or live links. */
const expectFits = (card: CardAttachment) => {
  expect(cardBytes(card)).toBeLessThanOrEqual(CARD_BUDGET_BYTES);
  expect(activityBytes(card)).toBeLessThanOrEqual(MAX_ACTIVITY_BYTES);
  expect(cardProblems(card.content)).toEqual([]);
  const all = strings(card.content);
  expect(all.filter((s) => LONE_SURROGATE.test(s) || s.includes('\u0000') || s.includes('\u202e'))).toEqual([]);
  // No live link: brackets escaped, schemes defanged.
  expect(all.filter((s) => /(^|[^\\])\]\(|https?:\/\/evil|www\.evil/i.test(s))).toEqual([]);
};

const measured: Record<string, number> = {};
afterAll(() => {
  // The figures the README and the issue quote: the largest activity of each kind.
  process.stdout.write(`largest activity per card kind (UTF-8 bytes): ${JSON.stringify(measured)}\n`);
});
const measure = (kind: string, card: CardAttachment) => {
  measured[kind] = Math.max(measured[kind] ?? 0, activityBytes(card));
  return card;
};

const KINDS: Entity['kind'][] = ['account', 'host', 'filehash', 'url', 'domain', 'process', 'file', 'mailbox'];

/** 150 entities: 100 addresses, then every other kind, with names up to 1 KB. */
const entities = (ips = 100, others = 50): Entity[] => [
  ...Array.from({ length: ips }, (_, n) => ({ kind: 'ip' as const, value: `198.51.${Math.floor(n / 250)}.${n % 250}`, details: {} })),
  ...Array.from({ length: others }, (_, n) => ({ kind: KINDS[n % KINDS.length]!, value: `${n}-${hostile(1_000)}`, details: {} })),
];

const incident = (over: Partial<Incident> = {}): Incident => ({
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-workspace/providers/Microsoft.SecurityInsights/Incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5',
  key: 'k',
  number: 4_294_967_296,
  title: hostile(1_024),
  description: hostile(10_240),
  severity: 'High',
  status: 'Active',
  classification: undefined,
  owner: { name: hostile(300) },
  createdAt: '2026-11-24T02:00:00Z',
  url: 'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/x',
  labels: Array.from({ length: 40 }, (_, n) => `label-${n}-${hostile(50)}`),
  products: Array.from({ length: 60 }, (_, n) => `Product ${n} ${hostile(40)}`),
  tactics: Array.from({ length: 14 }, (_, n) => `Tactic${n}`),
  techniques: [],
  alertCount: 60,
  ruleIds: [],
  entities: entities(),
  ...over,
});

/** Every source answering about every address, with every fact they give. */
const enrichmentOf = (i: Incident): IncidentEnrichment => {
  const at = '2026-11-24T02:01:00Z';
  const results = (n: number): SourceResult[] => [
    { status: 'ok', source: 'virustotal', score: 64, facts: { malicious: '58/90', reputation: -42, asOwner: hostile(120), country: 'NL', lastAnalysis: at, tags: hostile(200) }, at },
    {
      status: 'ok',
      source: 'abuseipdb',
      score: 100,
      facts: { confidence: '100%', reports: 1200 + n, isp: hostile(120), usage: 'Data Center/Web Hosting/Transit', domain: hostile(80), tor: false },
      at,
    },
    { status: 'ok', source: 'kql', facts: { SignIns24h: 41, FailedSignIns24h: 388, Users: hostile(150) }, at },
    { status: 'unavailable', source: 'device', reason: hostile(300), at },
  ];
  return {
    entities: i.entities.filter((e) => e.kind === 'ip').map((entity, n) => ({ entity, results: results(n), score: 82 })),
    score: 82,
    recommendation: 'BLOCK_IMMEDIATELY',
    assessedSeverity: 'Critical',
    privileged: true,
    pending: 130,
    planned: 300,
  };
};

const button = (title: string, verb: string): Button => ({ title, verb, data: { action: '5c1f2b9a-0000-4000-8000-000000000001', view: 'action' }, style: 'default' });

/** Ten actions with long lines and their buttons, six entities' options, 60 users to refresh, a long notice. */
const response = (): ResponseView => ({
  rows: Array.from({ length: 10 }, (): ActionRowView => ({
    text: untrusted(hostile(700), 700),
    color: 'Warning',
    tint: 'warning',
    buttons: [button('Approve', 'action.approve'), button('Reject', 'action.reject'), button('Cancel request', 'action.cancel')],
  })),
  optionGroups: Array.from({ length: 6 }, () => ({ buttons: [button(`★ Block IP ${'9'.repeat(45)}`, 'action.request'), button(`Add indicator ${'9'.repeat(45)}`, 'action.request')] })),
  notice: { text: untrusted(hostile(400), 400), ok: false },
  hasOpen: true,
  canWrite: true,
  refreshUserIds: Array.from({ length: 60 }, (_, n) => `29:1${String(n).padStart(3, '0')}${'aZ9-_'.repeat(20)}`),
});

describe('every card kind at its largest fits Teams and passes the Adaptive Cards parser', () => {
  it('incident: 150 entities, 60 alerts, 100 addresses enriched by every source, 10 KB description, 1 KB title, ten actions, 60 refresh users', () => {
    const i = incident();
    // With the largest case line: a long hostile number and a long link.
    const caseRef = {
      system: 'servicenow' as const,
      id: 'f'.repeat(32),
      number: hostile(100),
      url: `https://acme.service-now.com/incident.do?sys_id=${'f'.repeat(32)}&x=${'9'.repeat(400)}`,
      state: 'resolved' as const,
    };
    const card = measure('incident', renderIncidentCard(i, enrichmentOf(i), new Date(), response(), undefined, { system: 'servicenow', ref: caseRef }));
    expectFits(card);
    const text = JSON.stringify(card.content);
    expect(text).toContain('in ServiceNow · resolved');
    expect(text).toContain('Incident #4294967296');
    expect(text).toContain('BLOCK IMMEDIATELY');
    expect(text).toMatch(/…and \d+ more/);
    expect(text).toContain('`entities 4294967296`');
    expect(text).toContain('Open in Sentinel');
  });

  it('incident: the same at each severity and state, without enrichment, closed, and with no response', () => {
    for (const severity of ['High', 'Medium', 'Low', 'Informational'] as const) {
      for (const status of ['New', 'Active', 'Closed'] as const) {
        const i = incident({ severity, status, classification: status === 'Closed' ? hostile(100) : undefined });
        expectFits(measure('incident', renderIncidentCard(i, enrichmentOf(i), new Date(), response())));
        // Without a case yet: the "Open ticket" button.
        expectFits(measure('incident', renderIncidentCard(i, enrichmentOf(i), new Date(), response(), undefined, { system: 'jira' })));
        expectFits(measure('incident', renderIncidentCard(i)));
      }
    }
  });

  it('incident: a card that cannot fit a tiny budget becomes the minimal card, title and link', () => {
    const card = renderIncidentCard(incident(), undefined, new Date(), undefined, { maxBytes: 100 });
    expect(cardProblems(card.content)).toEqual([]);
    const text = JSON.stringify(card.content);
    expect(text).toContain('Incident #4294967296');
    expect(text).toContain('Open in Sentinel');
    expect(text).toContain('too large for one Teams message');
    expect(cardBytes(card)).toBeLessThan(2_000);
  });

  it('incident: a tighter budget gives a smaller card, every step of the way', () => {
    const i = incident();
    let last = Infinity;
    for (const maxBytes of [CARD_BUDGET_BYTES, 15_000, 9_000, 5_000, 3_000]) {
      const card = renderIncidentCard(i, enrichmentOf(i), new Date(), response(), { maxBytes });
      expect(cardProblems(card.content)).toEqual([]);
      expect(cardBytes(card)).toBeLessThanOrEqual(Math.min(last, Math.max(maxBytes, 2_000)));
      last = cardBytes(card);
    }
  });

  it('entity list: every one of 150 entities, a page at a time, each page within the budget', () => {
    const i = incident();
    const risks = new Map(i.entities.filter((e) => e.kind === 'ip').map((e) => [`${e.kind}:${e.value}`, 82] as const));
    const seen = new Set<string>();
    for (let page = 1; page <= 4; page++) {
      const card = measure('entities', renderEntityPage(i, risks, page));
      expectFits(card);
      for (const l of (card.content.body as Array<{ text?: string }>).map((b) => b.text ?? '')) if (/^\*\*/.test(l)) seen.add(l);
    }
    expect(seen.size).toBe(150);
    expect(JSON.stringify(renderEntityPage(i, risks, 1).content)).toContain('`entities 4294967296 2` for the next page');
  });

  it('digest: 200 lines of 1 KB hostile titles', () => {
    const lines = Array.from({ length: 200 }, (_, n) => ({ incident: incident({ number: 10_000 + n, severity: 'Low', entities: [] }), ownCard: n % 7 === 0, assessedSeverity: 'Critical' as const }));
    const digest: Digest = { id: 3, conversationId: 'c1', startedAt: new Date('2026-11-24T10:00:00Z'), sealed: false, lines };
    const card = measure('digest', renderDigestCard(digest));
    expectFits(card);
    expect(JSON.stringify(card.content)).toMatch(/…and \d+ more in this digest/);
  });

  it('page: a 1 KB title, a long reason and a ten-level chain of long names', () => {
    const page = { id: 7, incidentKey: 'k', state: 'open', reason: hostile(500), createdAt: new Date('2026-11-24T10:00:00Z') } as unknown as Parameters<typeof renderPageCard>[0]['page'];
    const card = measure(
      'page',
      renderPageCard({
        page,
        incident: incident(),
        severity: 'Critical',
        levels: Array.from({ length: 10 }, (_, n) => ({ level: n + 1, who: hostile(300) })),
        // A large schedule's Reassign choice, and a reassignment between people with hostile names.
        responders: Array.from({ length: 40 }, (_, n) => ({ id: `person${n}@contoso.example`, name: hostile(300) })),
        reassigned: { to: hostile(300), by: hostile(300), inPagerDuty: false },
      }),
    );
    expectFits(card);
    expect(JSON.stringify(card.content)).toContain('🚨 Incident #4294967296');
    expect(JSON.stringify(card.content)).toContain('person39@contoso.example');
  });

  it('stats: two windows with every action kind and outcome and ten hostile 1 KB entities', () => {
    const stats = (days: number) => ({
      from: new Date(Date.parse('2026-11-24T10:00:00Z') - days * 86_400_000),
      to: new Date('2026-11-24T10:00:00Z'),
      bySeverity: { Critical: 9_999, High: 9_999, Medium: 9_999, Low: 9_999, Informational: 9_999 },
      incidents: 49_995,
      durations: { acknowledgeMs: [60_000, 7_200_000], firstRequestMs: [1], approvalMs: [86_400_000 * 3], containmentMs: [59_000] },
      actions: ['block-ip', 'isolate-vm', 'disable-user', 'block-hash', 'add-indicator'].flatMap((kind) =>
        ['requested', 'approved', 'running', 'succeeded', 'failed', 'rejected', 'expired', 'cancelled'].map((outcome) => ({ kind, outcome, count: 99_999 })),
      ),
      topEntities: Array.from({ length: 10 }, (_, n) => ({ kind: 'url' as const, value: hostile(1000) + n, incidents: 9_999 })),
    });
    expectFits(
      measure(
        'stats',
        renderStatsCard([
          { title: 'Last 24 hours', stats: stats(1) },
          { title: 'Last 7 days', stats: stats(7) },
        ]),
      ),
    );
  });

  it('shift summary: 300 incidents in and open with 1 KB titles, 100 containments, a ten-level chain of long names', () => {
    const rows = Array.from({ length: 300 }, (_, n) => ({ incident: incident({ number: 20_000 + n, entities: [] }), assessedSeverity: 'Critical' }));
    const summary = {
      from: new Date('2026-11-23T08:00:00Z'),
      to: new Date('2026-11-24T08:00:00Z'),
      cameIn: rows,
      stillOpen: rows,
      contained: Array.from({ length: 100 }, (_, n) => ({
        number: 20_000 + n,
        kind: 'block-ip' as const,
        target: { kind: 'block-ip' as const, ip: `203.0.113.${n}` },
        at: new Date('2026-11-24T07:00:00Z'),
      })),
      next: Array.from({ length: 10 }, (_, n) => ({ level: n + 1, who: hostile(300) })),
      handoffText: 'Mon 23 Nov 09:00 (Europe/Amsterdam) → Tue 24 Nov 09:00 (Europe/Amsterdam)',
    };
    const card = measure('shift summary', renderShiftSummaryCard(summary));
    expectFits(card);
    expect(JSON.stringify(card.content)).toMatch(/…and \d+ more/);
  });

  it('help: the whole command table', async () => {
    const reply = await commands.help.handle('', { conversationId: 'c' }, {} as never);
    expectFits(measure('help', (reply as { card: CardAttachment }).card));
    const many = createHelpCommand(() => Array.from({ length: 60 }, (_, n) => ({ usage: `command${n} <number> [page]`, description: 'x'.repeat(120) })));
    expectFits(measure('help (60 commands)', ((await many.handle('', { conversationId: 'c' }, {} as never)) as { card: CardAttachment }).card));
  });
});

describe('chat cards at their largest, from a store full of hostile data', () => {
  let db: Db;
  /** As ingest stores them: PostgreSQL takes no NUL, and a lone surrogate became U+FFFD on the way in. */
  const storable = (length: number) => hostile(length).replace(/\u0000|\ud800(?![\udc00-\udfff])/g, '\ufffd');
  const storedIncident = (over: Partial<Incident>): Incident => ({
    ...incident(over),
    title: storable(1_024),
    description: storable(10_240),
    owner: { name: storable(300) },
    entities: entities().map((e) => ({ ...e, value: e.value.replace(/\u0000|\ud800(?![\udc00-\udfff])/g, '\ufffd') })),
    lastModifiedAt: '2026-11-24T02:00:00Z',
    ...over,
  });
  const NUMBER = 999_999_999;
  const caller = { conversationId: 'c' };
  const cardOf = (reply: unknown) => {
    expect(reply).toHaveProperty('card');
    return (reply as { card: CardAttachment }).card;
  };
  const kqlTable = (): KqlTable => ({
    columns: Array.from({ length: 12 }, (_, n) => `Column${n}_${storable(80)}`),
    rows: Array.from({ length: 1_000 }, (_, r) => Array.from({ length: 12 }, (_, c) => (c % 3 === 0 ? { nested: storable(200), r } : `${r}:${storable(300)}`))),
    totalRows: 1_000,
    durationMs: 1234,
    partial: storable(400),
  });
  let deps: CommandDeps;

  beforeAll(async () => {
    db = await openTestDb();
    for (let n = 0; n < 30; n++) await upsertIncident(db, storedIncident({ number: NUMBER - n, key: `k${n}`, id: `${incident().id}${n}` }));
    const now = new Date();
    for (let n = 0; n < 20; n++) {
      await requestAction(
        db,
        {
          incidentKey: 'k0',
          target: { kind: 'isolate-vm', host: `host-${n}-${'h'.repeat(200)}` },
          requestedBy: `5f0c6a1e-2b7d-4e1a-9c3d-${String(n).padStart(12, '0')}`,
          requestedByName: storable(200),
          approvalsNeeded: 2,
          expiresAt: new Date(now.getTime() + 3_600_000),
        },
        { now },
      );
    }
    for (let n = 0; n < 80; n++)
      await saveTeamsUser(db, {
        aadObjectId: `6f0c6a1e-2b7d-4e1a-9c3d-${String(n).padStart(12, '0')}`,
        teamsId: `29:1${String(n).padStart(3, '0')}${'aZ9-_'.repeat(20)}`,
        name: storable(200),
        serviceUrl: 'https://smba.trafficmanager.net/emea/',
      });
    for (let n = 0; n < 60; n++)
      await audit(db, storable(100), `action.${storable(60)}`, 'k0', {
        kind: 'block-ip',
        target: { ip: storable(300) },
        error: storable(500),
        reason: storable(500),
        action: '5c1f2b9a-0000-4000-8000-000000000001',
      });
    const allowed = async () => ({ allowed: true as const });
    deps = {
      db,
      providers: ['virustotal', 'abuseipdb', 'kql', 'graph', 'device'].map((name) => ({
        name,
        supports: () => true,
        lookup: async (): Promise<SourceResult> => ({
          status: 'ok',
          source: name,
          score: 90,
          facts: Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`fact${n}`, storable(200)])),
          at: '2026-11-24T02:01:00Z',
        }),
      })),
      kql: {
        logs: ((w) => ({ all: [w], forIncident: () => w, byLabel: () => w }))({
          workspace: { subscriptionId: 's', resourceGroup: 'rg', workspaceName: 'soc-workspace', workspaceId: 'ws', channels: [] },
          runner: { run: async () => kqlTable() },
        }),
        maxRows: 1_000,
        timeoutSeconds: 10,
      },
      responders: { check: allowed },
      actions: { views: createResponseViews({ db, permissions: { mayApprove: allowed, mayRequest: allowed, mayTakePart: allowed } as never, enabled: () => true }) },
      logger: createLogger('silent'),
    } as unknown as CommandDeps;
  });
  afterAll(async () => {
    await db.close();
  });

  it('incidents: the open-incident list of 1 KB titles', async () => {
    expectFits(measure('incident-list', cardOf(await commands.incidents.handle('', caller, deps))));
  });

  it('kql-result: 1,000 rows of 12 long columns', async () => {
    const card = measure('kql-result', cardOf(await commands.kql.handle('SigninLogs | take 1000', { ...caller, aadObjectId: '5f0c6a1e-2b7d-4e1a-9c3d-000000000001' }, deps)));
    expectFits(card);
    expect(JSON.stringify(card.content)).toMatch(/Showing the first \d+ of 1000 rows/);
  });

  it('enrichment: five sources with twenty long facts each', async () => {
    expectFits(measure('enrichment', cardOf(await commands.enrich.handle('203.0.113.7', caller, deps))));
  });

  it('audit: sixty entries with long details', async () => {
    expectFits(measure('audit', cardOf(await commands.audit.handle(String(NUMBER), caller, deps))));
  });

  it('action-list: twenty open requests with long targets and names', async () => {
    const card = measure('action-list', cardOf(await commands.actions.handle('', caller, deps)));
    expectFits(card);
  });

  it('entities: every page of the stored incident', async () => {
    for (const page of ['1', '4']) expectFits(measure('entities', cardOf(await commands.entities.handle(`${NUMBER} ${page}`, caller, deps))));
  });

  it('action: a request card with its 60 refresh users', async () => {
    const [a] = (await db.query<{ id: string }>('SELECT id FROM actions LIMIT 1')).rows;
    const { getAction } = await import('../../src/store/action-repository');
    const action = (await getAction(db, a!.id))!;
    const views = createResponseViews({
      db,
      permissions: { mayApprove: async () => ({ allowed: true }), mayRequest: async () => ({ allowed: true }), mayTakePart: async () => ({ allowed: true }) } as never,
      enabled: () => true,
    });
    const card = measure('action', await views.actionCard(action, undefined, { text: untrusted(storable(400), 400), ok: false }));
    expectFits(card);
    expect((card.content.refresh as { userIds: string[] }).userIds.length).toBeGreaterThan(0);
  });

  it('incident (from the store, with its actions as the response): the card the outbox sends', async () => {
    const views = createResponseViews({
      db,
      permissions: { mayApprove: async () => ({ allowed: true }), mayRequest: async () => ({ allowed: true }), mayTakePart: async () => ({ allowed: true }) } as never,
      enabled: () => true,
    });
    const i = storedIncident({ number: NUMBER, key: 'k0', id: `${incident().id}0` });
    const e = enrichmentOf(i);
    expectFits(measure('incident', renderIncidentCard(i, e, new Date(), await views.forIncident(i, e))));
  });
});

describe('renderers over arbitrary strings (fast-check)', () => {
  const text = fc.string({ unit: 'binary', maxLength: 2_000 });
  const entity = fc.record({
    kind: fc.constantFrom<Entity['kind']>('ip', 'account', 'host', 'url', 'domain', 'filehash', 'process', 'other'),
    value: fc.string({ unit: 'binary', maxLength: 1_200 }),
    details: fc.constant({}),
  });

  it('the incident card is parser-clean, inside the budget and free of broken text, whatever the incident says', () => {
    fc.assert(
      fc.property(text, text, fc.array(entity, { maxLength: 160 }), fc.array(text, { maxLength: 10 }), (title, description, es, products) => {
        const i = incident({ title, description, entities: es, products, owner: { name: title } });
        const card = renderIncidentCard(i, enrichmentOf(i), new Date(), response());
        expectFits(card);
      }),
      { numRuns: 40 },
    );
  });

  it('the digest and page cards too', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 120 }), text, (titles, who) => {
        const digest: Digest = {
          id: 1,
          conversationId: 'c',
          startedAt: new Date(0),
          sealed: false,
          lines: titles.map((title, n) => ({ incident: incident({ title, number: n + 1, severity: 'Medium' }), ownCard: false })),
        };
        expectFits(renderDigestCard(digest));
        const page = { id: 1, incidentKey: 'k', state: 'open', reason: who, createdAt: new Date(0) } as unknown as Parameters<typeof renderPageCard>[0]['page'];
        expectFits(renderPageCard({ page, incident: incident({ title: titles[0]! }), severity: 'High', levels: [{ level: 1, who }] }));
      }),
      { numRuns: 25 },
    );
  });

  it('every page of the entity list too', () => {
    fc.assert(
      fc.property(fc.array(entity, { maxLength: 200 }), fc.integer({ min: 1, max: 6 }), (es, page) => {
        expectFits(renderEntityPage(incident({ entities: es }), new Map(), page));
      }),
      { numRuns: 25 },
    );
  });

  it('truncate never splits a surrogate pair and never exceeds its length', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 1, max: 300 }), (s, max) => {
        const t = truncate(s, max);
        expect(t.length).toBeLessThanOrEqual(Math.max(max, 1));
        expect(LONE_SURROGATE.test(t)).toBe(false);
        if (s.length > max) expect(t.endsWith('…')).toBe(true);
      }),
    );
  });

  it('untrusted text keeps no control character, lone surrogate or live link', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (s) => {
        const t = untrusted(s, 200);
        expect(LONE_SURROGATE.test(t)).toBe(false);
        expect(t).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u202a-\u202e]/);
        expect(t).not.toMatch(/https?:\/\//i);
      }),
    );
  });
});

it('renderCard output is the template as given (sanity for the measures above)', () => {
  expect(cardBytes(renderCard('help', { commands: [] }))).toBeLessThan(1_000);
});
