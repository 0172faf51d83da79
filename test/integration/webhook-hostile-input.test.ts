import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import type { Db } from '../../src/store/db';
import { getIncident } from '../../src/store/incident-repository';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { startTestApp, WEBHOOK_SECRET, type TestApp } from '../helpers/test-app';

const cardText = (activity: Record<string, unknown>) => JSON.stringify((activity.attachments as Array<{ content: unknown }>)[0]!.content);

/** Hand-written JSON text, so the escapes an attacker would send (`\u0000`, a lone `\ud800`) reach Vigil as sent. */
const rawWith = (body: unknown, replacements: Record<string, string>) => {
  let text = JSON.stringify(body);
  for (const [marker, raw] of Object.entries(replacements)) text = text.split(JSON.stringify(marker)).join(raw);
  return text;
};

describe.each(storeDrivers())('hostile webhook input on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let db: Db;
  let drop: () => Promise<void>;
  let t: TestApp;

  beforeAll(async () => {
    connector = await startBotConnector();
    ({ db, drop } = await driver.open());
    t = await startTestApp({}, { db });
  });
  afterAll(async () => {
    await t.close();
    await connector.close();
    await drop();
  });
  beforeEach(async () => {
    connector.reset();
    await emptyTables(db);
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });

  const count = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0]!.n;
  const refusedNaming = async (res: { status: number; body: any }, status: number, field: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code: expect.any(String), message: expect.stringMatching(field) } });
    expect(await count()).toBe(0);
  };

  it('stores NUL and lone surrogates as U+FFFD wherever they are, and the card shows them so', async () => {
    const body = withProperties(demoIncident('powershell-web-01'), {
      title: 'TITLE',
      description: 'DESCRIPTION',
      labels: [{ labelName: 'LABEL', labelType: 'User' }],
      owner: { assignedTo: 'OWNER', objectId: null, email: null, userPrincipalName: null },
      relatedEntities: [
        { kind: 'Process', properties: { commandLine: 'COMMAND', nested: { deeper: 'NESTED' } } },
        { $id: '2', Type: 'account', Name: 'ACCOUNT', UPNSuffix: 'contoso.example' },
      ],
    });
    const raw = rawWith(body, {
      TITLE: '"Encoded \\u0000PowerShell \\ud800 on web-01"',
      DESCRIPTION: '"low \\udc00 then nul \\u0000"',
      LABEL: '"tag\\u0000"',
      OWNER: '"Jane \\udbff"',
      COMMAND: '"powershell.exe -c \\u0000\\ud83d"',
      NESTED: '"\\u0000"',
      ACCOUNT: '"ev\\u0000il"',
    });
    const res = await t.postIncident(undefined, { raw });
    expect(res.status).toBe(202);
    const stored = (await getIncident(db, body.object.id))!.incident;
    expect(stored.title).toBe('Encoded \ufffdPowerShell \ufffd on web-01');
    expect(stored.description).toBe('low \ufffd then nul \ufffd');
    expect(stored.labels).toEqual(['tag\ufffd']);
    expect(stored.owner?.name).toBe('Jane \ufffd');
    expect(stored.entities.map((e) => e.value)).toEqual(['powershell.exe -c \ufffd\ufffd', 'ev\ufffdil@contoso.example']);
    const row = (await db.query<{ title: string }>('SELECT title FROM incidents')).rows[0]!;
    expect(row.title).toBe(stored.title);
    const [post] = await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const text = cardText(post!.body as Record<string, unknown>);
    expect(text).toContain('Encoded \ufffdPowerShell \ufffd on web-01');
    expect(text).not.toMatch(/\\u0000|\\ud800/);
  });

  it('reads bytes that are not UTF-8 as U+FFFD rather than failing', async () => {
    const text = JSON.stringify(withProperties(demoIncident('powershell-web-01'), { title: 'TITLE' }));
    const [before, after] = text.split('TITLE') as [string, string];
    const raw = Buffer.concat([Buffer.from(before), Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0xc3]), Buffer.from(after)]);
    const res = await fetch(`${t.url}/api/incidents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_SECRET}` }, body: raw });
    expect(res.status).toBe(202);
    const [row] = (await db.query<{ title: string }>('SELECT title FROM incidents')).rows;
    expect(row!.title).toBe('bad\ufffd\ufffd\ufffd');
  });

  it('keeps 64-bit incident numbers up to 2^53 - 1 and refuses larger ones (400), never a 500', async () => {
    const at = (n: number, name: string) => {
      const b = withProperties(demoIncident('brute-force-admin'), { incidentNumber: n });
      b.object.id = b.object.id.replace(/[^/]+$/, name);
      return b;
    };
    expect((await t.postIncident(at(2 ** 31, 'n-2-31'))).status).toBe(202);
    expect((await t.postIncident(at(Number.MAX_SAFE_INTEGER, 'n-max'))).status).toBe(202);
    const numbers = (await db.query<{ number: string }>('SELECT number::text AS number FROM incidents ORDER BY number')).rows.map((r) => r.number);
    expect(numbers).toEqual(['2147483648', '9007199254740991']);
    // The app is still at work on those two (enrichment, cards, jobs): let it finish before the
    // tables are emptied under it, or its transactions and the TRUNCATE's locks deadlock.
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    await t.app.jobs.idle();
    await emptyTables(db);
    await refusedNaming(
      await t.postIncident(undefined, { raw: JSON.stringify(at(1, 'n-big')).replace('"incidentNumber":1', '"incidentNumber":9223372036854775807') }),
      400,
      /object\.properties\.incidentNumber: must be at most 9007199254740991/,
    );
  });

  it.each([
    ['a boolean number', { incidentNumber: true }, /object\.properties\.incidentNumber: must be a number/],
    ['"1e2"', { incidentNumber: '1e2' }, /object\.properties\.incidentNumber: must be a number/],
    ['[7]', { incidentNumber: [7] }, /object\.properties\.incidentNumber: must be a number/],
    ['"March 7"', { createdTimeUtc: 'March 7' }, /object\.properties\.createdTimeUtc: must be an ISO 8601 time/],
    ['a time beyond PostgreSQL', { lastModifiedTimeUtc: '+294277-01-01T00:00:00Z' }, /object\.properties\.lastModifiedTimeUtc: must be an ISO 8601 time/],
    ['year 10000', { lastActivityTimeUtc: '10000-01-01T00:00:00Z' }, /object\.properties\.lastActivityTimeUtc: must be an ISO 8601 time/],
    ['year 1', { firstActivityTimeUtc: '0001-01-01T00:00:00Z' }, /object\.properties\.firstActivityTimeUtc: must be between the years 1970 and 9999/],
    ['no offset', { createdTimeUtc: '2026-11-24T01:20:00' }, /object\.properties\.createdTimeUtc: must be an ISO 8601 time with an offset/],
  ])('refuses %s with 400 naming the field, and stores nothing', async (_name, changes, field) => {
    await refusedNaming(await t.postIncident(withProperties(demoIncident('brute-force-admin'), changes)), 400, field);
  });

  it('refuses a body nested past any real payload (400) and one over the size limit (413), naming the body', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const nested = JSON.stringify(withProperties(demoIncident('brute-force-admin'), { relatedEntities: 'DEEP' })).replace('"DEEP"', deep);
    await refusedNaming(await t.postIncident(undefined, { raw: nested }), 400, /^body: nested deeper than 64 levels/);
    const huge = withProperties(demoIncident('brute-force-admin'), { description: 'x'.repeat(1024 * 1024) });
    await refusedNaming(await t.postIncident(huge), 413, /^body: larger than 1048576 bytes/);
  });

  it('refuses a body that is not application/json with 415, and takes JSON with parameters', async () => {
    const body = demoIncident('brute-force-admin');
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', '']) {
      const res = await t.postIncident(body, { headers: { 'content-type': contentType } });
      expect(res.status).toBe(415);
      expect(res.body.error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringMatching(/^content-type: must be application\/json/) });
    }
    expect(await count()).toBe(0);
    expect((await t.postIncident(body, { headers: { 'content-type': 'Application/JSON; charset=utf-8' } })).status).toBe(202);
  });

  it('refuses an incident of another workspace with 403 naming it, and stores nothing', async () => {
    const foreign = demoIncident('brute-force-admin');
    foreign.object.id = foreign.object.id.replace('/workspaces/soc-workspace/', '/workspaces/other-ws/');
    foreign.workspaceInfo.WorkspaceName = 'other-ws';
    const res = await t.postIncident(foreign);
    await refusedNaming(res, 403, /object\.id: the incident belongs to workspace other-ws .*Vigil takes incidents of soc-workspace/);
    expect(res.body.error.code).toBe('FORBIDDEN');

    const otherSubscription = demoIncident('brute-force-admin');
    otherSubscription.object.id = otherSubscription.object.id.replace('00000000-0000-0000-0000-000000000000', '11111111-1111-1111-1111-111111111111');
    await refusedNaming(await t.postIncident(otherSubscription), 403, /subscription 11111111-1111-1111-1111-111111111111/);
  });

  it('believes the ARM id over workspaceInfo, and refuses a body whose two disagree', async () => {
    const lying = demoIncident('brute-force-admin');
    lying.object.id = lying.object.id.replace('/workspaces/soc-workspace/', '/workspaces/other-ws/');
    await refusedNaming(await t.postIncident(lying), 403, /belongs to workspace other-ws/);
    const contradicting = demoIncident('brute-force-admin');
    contradicting.workspaceInfo.ResourceGroupName = 'other-rg';
    await refusedNaming(await t.postIncident(contradicting), 400, /workspaceInfo\.ResourceGroupName: "other-rg" contradicts the incident's ARM id/);
    expect(connector.requests('POST', '/v3/conversations/:id/activities')).toHaveLength(0);
  });

  it('compares workspace names case-insensitively and keys the incident by its ARM id, whatever its case', async () => {
    const body = demoIncident('brute-force-admin');
    expect((await t.postIncident(body)).body.outcome).toBe('created');
    const shouting = demoIncident('brute-force-admin');
    shouting.object.id = shouting.object.id.replace('/resourceGroups/soc-rg/', '/resourceGroups/SOC-RG/').replace('/workspaces/soc-workspace/', '/workspaces/SOC-Workspace/');
    shouting.workspaceInfo.WorkspaceName = 'SOC-WORKSPACE';
    const res = await t.postIncident(shouting);
    expect(res.status).toBe(202);
    expect(await count()).toBe(1);
    expect((await db.query<{ key: string }>('SELECT key FROM incidents')).rows[0]!.key).toBe(body.object.id.toLowerCase());
  });
});
