import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { isAppError } from '../../src/errors';
import { ingestIncident, type IngestDeps } from '../../src/ingest/ingest-incident';
import { readJsonBody } from '../../src/ingest/read-body';
import { MAX_BODY_BYTES } from '../../src/server';
import type { Db } from '../../src/store/db';
import { demoIncident, fixture } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * 10,000 mutated webhook bodies against a real Vigil on PGlite: every tenth (1,000) posted over HTTP
 * (restify, the webhook auth, the body reader, the parser, the store), the other 9,000 handed
 * in-process to the same body reader and `ingestIncident` (parse, workspace check, store) with the
 * status the server gives each AppError code — the HTTP layer adds nothing per body that the 1,000
 * do not cover, and skipping it for the rest keeps the test inside `npm test`'s time. Starting points are the demo envelopes and Microsoft's
 * published incident resources (moved into the configured workspace so they can be accepted); each
 * body gets 1–3 mutations: a value replaced by another type, NUL/surrogates/huge strings, numbers at
 * 2^31, 2^53 and below zero, malformed and out-of-range dates, a field dropped or given twice, an
 * array element duplicated, another workspace. Fixed seed: the same bodies every run.
 */
const BODIES = 10_000;
const CONCURRENCY = 16;
const SEED = 20_261_201;
const CARD_SAMPLE = 12;
const OVER_HTTP_EVERY = 10;
/** What the server answers for each code a body can earn (src/server.ts). */
const STATUS: Record<string, number> = { BAD_REQUEST: 400, FORBIDDEN: 403, PAYLOAD_TOO_LARGE: 413, UNAUTHORIZED: 401 };

const CONFIGURED = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'soc-rg', workspaceName: 'soc-workspace' };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

const rebase = (resource: any) => {
  const copy = JSON.parse(JSON.stringify(resource));
  copy.id = copy.id.replace(
    /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+\//,
    `/subscriptions/${CONFIGURED.subscriptionId}/resourceGroups/${CONFIGURED.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${CONFIGURED.workspaceName}/`,
  );
  return copy;
};

const seeds: Json[] = [
  demoIncident('brute-force-admin'),
  demoIncident('brute-force-admin.update'),
  demoIncident('powershell-web-01'),
  demoIncident('unfamiliar-signin'),
  rebase(fixture('test/fixtures/contracts/GetIncidentById.2024-09-01.json').responses['200'].body),
  rebase(fixture('test/fixtures/contracts/GetIncidents.2024-09-01.json').responses['200'].body.value[0]),
];

/** Every path to a value in a JSON document (the root excluded). */
const pathsOf = (v: Json, prefix: Path = []): Path[] => {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...prefix, i], ...pathsOf(x, [...prefix, i])]);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [[...prefix, k], ...pathsOf(x, [...prefix, k])]);
  return [];
};
const seedPaths = seeds.map((s) => pathsOf(s));

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    '\udc00\ud800',
    '\ud83d\ude00',
    '\u202e\u200b',
    '1e2',
    '42',
    '-1',
    'true',
    'null',
    'NaN',
    'March 7',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-11-24T24:00:00Z',
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '9999-12-31T23:59:59Z',
    '10000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    '2026-11-24T01:20:00',
    '2026-11-24',
    '2026-11-24T01:20:00+14:00',
    '2026-11-24T01:20:00+25:00',
    '2026-11-24 01:20:00Z',
    'High',
    'Closed',
    'Incident',
    '__proto__',
    'constructor',
    '<at>everyone</at>',
    '[click](javascript:alert(1))',
    "'; DROP TABLE incidents; --",
    '/subscriptions/x/../../etc/passwd',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ maxLength: 30 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

const hugeString = fc.constantFrom(
  () => 'A'.repeat(200_000),
  () => '\u0000'.repeat(50_000),
  () => '\ud800x'.repeat(40_000),
  () => '\ud83d\ude00'.repeat(60_000),
);

const hostileNumber = fc.oneof(
  fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 63, -(2 ** 31), -(2 ** 53), -1, 0, 0.5, 1e308, -1e-308),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Nesting too deep for JSON.stringify to write: a marker, replaced by raw text once the body is written. */
const deepArray = (depth: number): Json => `__deep_${depth}__`;
const spliceDeep = (text: string) => text.replace(/"__deep_(\d+)__"/g, (_all, d: string) => `${'['.repeat(Number(d))}"bottom"${']'.repeat(Number(d))}`);

const hostileValue: fc.Arbitrary<Json | (() => Json)> = fc.oneof(
  { arbitrary: hostileString, weight: 6 },
  { arbitrary: hostileNumber, weight: 4 },
  { arbitrary: fc.constantFrom<Json>(true, false, null, [], {}, [7], ['High'], { $ref: '1' }, { labelName: 7 }), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, weight: 2 },
  { arbitrary: hugeString, weight: 1 },
  {
    arbitrary: fc.constantFrom(
      () => deepArray(70),
      () => deepArray(5000),
    ),
    weight: 1,
  },
);

type Mutation =
  | { op: 'replace'; at: number; value: Json | (() => Json) }
  | { op: 'drop'; at: number }
  | { op: 'duplicate'; at: number; value: Json | (() => Json) }
  | { op: 'foreign'; part: 'subscription' | 'group' | 'workspace' | 'info' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }), weight: 12 },
  { arbitrary: fc.record({ op: fc.constant('drop' as const), at: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), value: hostileValue }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('foreign' as const), part: fc.constantFrom('subscription' as const, 'group' as const, 'workspace' as const, 'info' as const) }), weight: 1 },
);

const caseArb = fc.record({ seed: fc.nat({ max: seeds.length - 1 }), mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) });

const resolveValue = (v: Json | (() => Json)): Json => (typeof v === 'function' ? v() : v);

/** Where the incident resource sits: `object` in an envelope, the root for a bare resource. */
const resourceOf = (body: any) => (body && typeof body === 'object' && body.object && typeof body.object === 'object' ? body.object : body);

/** The JSON text of one case: a fresh copy of its seed, a unique incident name, then its mutations. */
function bodyText(c: { seed: number; mutations: Mutation[] }, n: number): string {
  const body: any = JSON.parse(JSON.stringify(seeds[c.seed]));
  const resource = resourceOf(body);
  resource.id = resource.id.replace(/[^/]+$/, `fuzz-${n}`);
  const paths = seedPaths[c.seed]!;
  const dups: Array<[string, Json]> = [];
  for (const m of c.mutations) {
    if (m.op === 'foreign') {
      const r = resourceOf(body);
      if (m.part === 'info') {
        if (body.workspaceInfo && typeof body.workspaceInfo === 'object') body.workspaceInfo.WorkspaceName = 'someone-elses';
      } else if (typeof r?.id === 'string') {
        const swaps: Record<string, [RegExp, string]> = {
          subscription: [/\/subscriptions\/[^/]+/, '/subscriptions/11111111-2222-3333-4444-555555555555'],
          group: [/\/resourceGroups\/[^/]+/, '/resourceGroups/other-rg'],
          workspace: [/\/workspaces\/[^/]+/, '/workspaces/other-ws'],
        };
        const [from, to] = swaps[m.part]!;
        r.id = r.id.replace(from, to);
      }
      continue;
    }
    const path = paths[m.at % paths.length]!;
    let parent: any = body;
    for (const k of path.slice(0, -1)) parent = parent && typeof parent === 'object' ? parent[k] : undefined;
    const last = path[path.length - 1]!;
    if (!parent || typeof parent !== 'object' || !(last in parent)) continue;
    if (m.op === 'drop') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (m.op === 'replace') {
      parent[last] = resolveValue(m.value);
    } else if (Array.isArray(parent)) {
      parent.splice(Number(last), 0, JSON.parse(JSON.stringify(parent[Number(last)] ?? null)));
    } else {
      // JSON.stringify cannot write a key twice: a marker now, the second copy spliced into the text.
      const marker = `__dup_${dups.length}__`;
      dups.push([marker, resolveValue(m.value)]);
      parent[last] = [parent[last], marker];
    }
  }
  let text = JSON.stringify(body);
  for (const [marker, second] of dups) {
    text = text.replace(new RegExp(`"([^"\\\\]*)":\\[(.*?),"${marker}"\\]`), (_all, key: string, first: string) => `"${key}":${first},"${key}":${JSON.stringify(second)}`);
  }
  return spliceDeep(text);
}

interface Answer {
  n: number;
  status: number;
  body: any;
  /** The key the body's incident would be stored under, if its id is a string. */
  key?: string;
  text: string;
  overHttp: boolean;
}

const keyOf = (text: string): string | undefined => {
  try {
    const id = resourceOf(JSON.parse(text))?.id;
    return typeof id === 'string' ? id.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
};

/** A field path, or `body`/`content-type`, then a colon: what every refusal starts with. */
const NAMES_A_FIELD = /^(body|content-type|[A-Za-z$][\w$-]*(\.[\w$-]+)*): /;

/** The handler's path without the socket: the same body reader over the same bytes, then ingest. */
async function ingestInProcess(text: string, deps: IngestDeps): Promise<{ status: number; body: any }> {
  const req = Object.assign(Readable.from([Buffer.from(text)]), { headers: { 'content-type': 'application/json' } }) as unknown as IncomingMessage;
  try {
    const { incident, outcome } = await ingestIncident(await readJsonBody(req, MAX_BODY_BYTES), deps);
    return { status: 202, body: { outcome: outcome.kind, incident: { id: incident.id, number: incident.number } } };
  } catch (e) {
    const status = isAppError(e) ? (STATUS[e.code] ?? 500) : 500;
    return { status, body: { error: { code: isAppError(e) ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) } } };
  }
}

describe('webhook fuzz: 10,000 mutated bodies, 1,000 of them over HTTP', () => {
  let t: TestApp;
  let db: Db;
  let connector: BotConnectorStandIn;
  const cases = fc.sample(caseArb, { seed: SEED, numRuns: BODIES });
  const texts = cases.map((c, n) => bodyText(c, n));
  let answers: Answer[] = [];
  let elapsedMs = 0;

  beforeAll(async () => {
    connector = await startBotConnector();
    db = await openTestDb();
    t = await startTestApp({}, { db });
    const deps: IngestDeps = { db, portalUrl: 'https://portal.azure.com', workspaces: [CONFIGURED], onChange: () => undefined };
    const started = Date.now();
    answers = new Array(texts.length);
    let next = 0;
    const worker = async () => {
      while (next < texts.length) {
        const n = next++;
        const text = texts[n]!;
        const overHttp = n % OVER_HTTP_EVERY === 0;
        const res = overHttp ? await t.postIncident(undefined, { raw: text }) : await ingestInProcess(text, deps);
        answers[n] = { n, status: res.status, body: res.body, key: keyOf(text), text, overHttp };
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    elapsedMs = Date.now() - started;
  }, 120_000);
  afterAll(async () => {
    await t.close();
    await connector.close();
    await db.close();
  });

  it('never answers 5xx, and refuses with a 4xx naming a field or accepts with 202', async () => {
    const tally = (xs: Answer[]) => xs.reduce<Record<number, number>>((acc, a) => ({ ...acc, [a.status]: (acc[a.status] ?? 0) + 1 }), {});
    const byStatus = tally(answers);
    // The figures a reader of the test log wants: how many of each, and how long.
    process.stdout.write(`webhook fuzz: ${answers.length} bodies in ${elapsedMs} ms, answers ${JSON.stringify(byStatus)}; over HTTP ${JSON.stringify(tally(answers.filter((a) => a.overHttp)))}\n`);
    const serverErrors = answers.filter((a) => a.status >= 500);
    expect(serverErrors.map((a) => ({ n: a.n, status: a.status, error: a.body?.error, body: a.text.slice(0, 300) }))).toEqual([]);
    expect(answers).toHaveLength(BODIES);
    expect(answers.filter((a) => a.overHttp)).toHaveLength(BODIES / OVER_HTTP_EVERY);
    expect(
      Object.keys(byStatus)
        .map(Number)
        .every((s) => s === 202 || (s >= 400 && s < 500)),
    ).toBe(true);
    // Both outcomes are well represented, or the fuzz is not testing much.
    expect(byStatus[202]).toBeGreaterThan(1000);
    expect(answers.length - (byStatus[202] ?? 0)).toBeGreaterThan(1000);
    for (const a of answers.filter((x) => x.status >= 400)) {
      expect({ n: a.n, error: a.body?.error }).toEqual({ n: a.n, error: { code: expect.any(String), message: expect.stringMatching(NAMES_A_FIELD) } });
    }
  });

  it('stores every accepted incident, and nothing for a refused one', async () => {
    const stored = new Set((await db.query<{ key: string }>('SELECT key FROM incidents')).rows.map((r) => r.key));
    const accepted = answers.filter((a) => a.status === 202);
    for (const a of accepted) expect({ n: a.n, stored: stored.has(String(a.body.incident.id).toLowerCase()) }).toEqual({ n: a.n, stored: true });
    const acceptedKeys = new Set(accepted.map((a) => String(a.body.incident.id).toLowerCase()));
    expect(stored.size).toBe(acceptedKeys.size);
    for (const a of answers.filter((x) => x.status >= 400 && x.key)) expect({ n: a.n, stored: stored.has(a.key!) }).toEqual({ n: a.n, stored: false });
  });

  it('finishes well inside a minute', () => {
    // About 12 s on a quiet 2-core machine; the bound leaves room for a busy CI runner.
    expect(elapsedMs).toBeLessThan(40_000);
  });

  it('cards a sample of the accepted bodies in a subscribed channel', async () => {
    const sample = answers.filter((a) => a.status === 202 && a.text.length < 50_000).slice(0, CARD_SAMPLE);
    await resetDb(db);
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
    for (const a of sample) expect((await t.postIncident(undefined, { raw: a.text })).status).toBe(202);
    await connector.waitFor('POST', '/v3/conversations/:id/activities', CARD_SAMPLE, 15_000);
    await t.app.outbox.idle();
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(CARD_SAMPLE);
    const pending = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_cards WHERE sent_version < desired_version');
    expect(pending.rows[0]!.n).toBe(0);
  }, 30_000);
});
