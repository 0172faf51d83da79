import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { ADELE, ALEX, eventually, from, ISAIAH, MEGAN, type Person } from '../helpers/actions-setup';
import { demoIncident } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';

const scheduleFile = path.resolve(__dirname, '../fixtures/oncall.yaml');

type Sent = { method: string; path: string; body: unknown };
const isPage = (r: Sent) => (r.body as { summary?: string }).summary?.startsWith('Paged: incident #') === true;
const cardOf = (r: Sent): any => (r.body as { attachments: Array<{ content: unknown }> }).attachments[0]!.content;
/** The Reassign choice on a page card: its choices as title → value. */
const reassignChoices = (card: unknown): Array<{ title: string; value: string }> => {
  const found: Array<{ title: string; value: string }> = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      if (o.type === 'Input.ChoiceSet' && o.id === 'reassignTo') found.push(...(o.choices as Array<{ title: string; value: string }>));
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return found;
};

describe.each(storeDrivers())('reassigning a page to a named responder on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let drop: () => Promise<void>;
  let now: Date;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await drop();
  });
  beforeEach(async () => {
    for (const s of [connector, ...sandboxes.all]) s.reset();
    await emptyTables(db);
    now = new Date('2026-11-24T02:00:00Z'); // Tuesday 03:00 in Amsterdam: Alex is primary, Isaiah next
    t = await startTestApp({ ...sandboxes.env, VIGIL_ONCALL_FILE: scheduleFile }, { db, clock: () => now });
    await t.sendActivity(botInstalledInTeam(connector.url));
    for (const who of [ALEX, MEGAN, ISAIAH, ADELE]) await t.sendActivity(from(connector.url, who, 'hello'));
    await t.postIncident(demoIncident('brute-force-admin'));
    await t.app.enricher.idle();
    await t.app.pager!.tick();
  });
  afterEach(() => t.close());

  /** The page cards sent to (and redrawn in) the person's 1:1 chat with Vigil, oldest first. */
  const pageCardsTo = async (who: Person) => {
    const chat = (await db.query<{ id: string }>(`SELECT id FROM conversations WHERE kind = 'personal' AND reference->'user'->>'aadObjectId' = $1`, [who.id])).rows.map((r) => r.id);
    return connector.requests().filter((r) => ['POST', 'PUT'].includes(r.method) && isPage(r) && chat.some((id) => decodeURIComponent(r.path).startsWith(`/v3/conversations/${id}/`)));
  };
  const firstPageTo = async (who: Person) => (await pageCardsTo(who)).find((r) => r.method === 'POST');
  const lastCardTo = async (who: Person) => JSON.stringify(cardOf((await pageCardsTo(who)).at(-1)!));
  const pageId = async () => (await db.query<{ id: number }>('SELECT id FROM pages')).rows[0]!.id;
  const reassignments = async () => (await db.query(`SELECT actor, details FROM audit WHERE action = 'page.reassigned' ORDER BY id`)).rows;
  const clickOnPage = (who: Person, data: Record<string, unknown>) =>
    t.sendActivity({
      ...from(connector.url, who),
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'page.reassign', data }, trigger: 'manual' },
    });
  const replies = () => connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').map((r) => (r.body as { text?: string }).text ?? '');

  it('offers the schedule’s responders on the page card, hands the page to the one chosen (checked against the schedule), pages them and every card says so', async () => {
    const card = cardOf((await firstPageTo(ALEX))!);
    // The next level first, then everyone the schedule names, by name, with their canonical ids.
    expect(reassignChoices(card)).toEqual([
      { title: 'The next level of the escalation', value: 'next' },
      { title: 'Megan Bowen', value: MEGAN.id },
      { title: 'Alex Wilber', value: ALEX.id },
      { title: 'Adele Vance', value: ADELE.id },
      { title: 'Isaiah Langer', value: ISAIAH.id },
    ]);

    // A value the card never offered is refused, and nothing changes.
    const forged = await clickOnPage(ALEX, { page: String(await pageId()), reassignTo: 'mallory@evil.example' });
    expect(forged.body).toContain('Reassign to someone on the on-call schedule');
    expect(await reassignments()).toEqual([]);

    // Alex hands it to Megan (the id in another case: identifiers are canonicalised).
    const moved = await clickOnPage(ALEX, { page: String(await pageId()), reassignTo: MEGAN.id.toUpperCase() });
    expect(moved.status).toBe(200);
    expect(moved.body).toContain('to Megan Bowen by Alex Wilber');
    expect(await reassignments()).toEqual([{ actor: ALEX.id, details: { level: 1, to: MEGAN.id } }]);

    // Megan is paged now, and every card of the page (Alex's too) says who has it.
    await t.app.pager!.tick();
    await eventually('a page card for Megan', () => firstPageTo(MEGAN));
    for (const who of [ALEX, MEGAN]) expect(await lastCardTo(who)).toContain('to Megan Bowen by Alex Wilber');
    expect(await lastCardTo(MEGAN)).toContain('L1 Alex Wilber → L1 Megan Bowen');
    // Megan has a full level's wait before the escalation moves on to Isaiah.
    now = new Date(now.getTime() + 4 * 60_000);
    await t.app.pager!.tick();
    expect(await firstPageTo(ISAIAH)).toBeUndefined();
    now = new Date(now.getTime() + 60_000 + 1000);
    await t.app.pager!.tick();
    await eventually('the escalation to Isaiah', () => firstPageTo(ISAIAH));
  });

  it('`page reassign <n> <person>` in chat: responders only, by name or UPN, someone on the schedule', async () => {
    await t.sendActivity(from(connector.url, ADELE, 'page reassign 1041 Isaiah Langer'));
    expect(await eventually('the refusal', () => replies().find((r) => r.includes('Only responders')))).toMatch(/^Only responders may reassign pages/);
    await t.sendActivity(from(connector.url, MEGAN, 'page reassign 1041 mallory@evil.example'));
    expect(await eventually('the refusal', () => replies().find((r) => r.includes('not on the on-call schedule')))).toContain(
      'Reassign to one of: Megan Bowen, Alex Wilber, Adele Vance, Isaiah Langer.',
    );
    expect(await reassignments()).toEqual([]);

    await t.sendActivity(from(connector.url, MEGAN, 'page reassign 1041 isaiah langer'));
    expect(await eventually('the answer', () => replies().find((r) => r.startsWith('Reassigned')))).toBe("Reassigned incident #1041's page to Isaiah Langer: paged now.");
    expect(await reassignments()).toEqual([{ actor: MEGAN.id, details: { level: 1, to: ISAIAH.id } }]);
    await t.app.pager!.tick();
    await eventually('a page card for Isaiah', () => firstPageTo(ISAIAH));
    expect(await lastCardTo(ISAIAH)).toContain('to Isaiah Langer by Megan Bowen');
  });
});
