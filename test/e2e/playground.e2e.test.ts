import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { SECOND_WORKSPACE_CHANNEL, secondWorkspaceDemo, startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { approveAs } from '../../scripts/approve-as';
import { demoIncident } from '../helpers/fixtures';

/** Teams' message column. */
const CARD_WIDTH = 446;
/** What an analyst sees without scrolling: the verdict and the recommended button must be inside it. */
const FIRST_SCREEN = 500;
/** The whole card, details folded. */
const CARD_BUDGET_PX = 700;

interface Measure {
  height: number;
  verdictBottom?: number;
  recommendedBottom?: number;
  /** Buttons whose title is cut (scrolls inside its box) or that stick out of the card. */
  cutButtons: string[];
}

/**
 * Lays the card out at Teams' column width and measures it: its height, where the verdict and
 * the recommended (★) button end, relative to the card's top, and any button cut off.
 */
const measure = (card: Locator): Promise<Measure> =>
  card.evaluate((el, width) => {
    const root = el as HTMLElement;
    root.style.width = `${width}px`;
    root.style.maxWidth = `${width}px`;
    const box = root.getBoundingClientRect();
    const below = (e: Element | undefined) => (e ? Math.round(e.getBoundingClientRect().bottom - box.top) : undefined);
    const visible = (e: Element) => (e as HTMLElement).offsetParent !== null;
    const verdict = Array.from(root.querySelectorAll('p, div')).find((e) => visible(e) && e.children.length === 0 && /BLOCK IMMEDIATELY|INVESTIGATE|MONITOR/.test(e.textContent ?? ''));
    const buttons = Array.from(root.querySelectorAll('button')).filter(visible);
    const recommended = buttons.find((b) => (b.textContent ?? '').startsWith('★'));
    const cut = buttons.filter((b) => {
      const r = b.getBoundingClientRect();
      const inner = [b, ...Array.from(b.querySelectorAll('*'))] as HTMLElement[];
      // The overflow menu's "…" button is an icon, not a title that could be cut.
      if (/^(\.\.\.|…)$/.test((b.textContent ?? '').trim())) return false;
      return r.left < box.left - 1 || r.right > box.right + 1 || inner.some((x) => x.scrollWidth > x.clientWidth + 1);
    });
    return { height: Math.round(box.height), verdictBottom: below(verdict), recommendedBottom: below(recommended), cutButtons: cut.map((b) => b.textContent ?? b.getAttribute('aria-label') ?? '?') };
  }, CARD_WIDTH);

/** Figures for the report: one line per measured card. */
const measured: Record<string, Measure> = {};

/** The flags this machine needs: no sandbox as root, and no background calls to the closed internet. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * The whole local stack (`npm run dev`) driven through the Microsoft 365 Agents Playground in
 * Debian's Chromium, as a newcomer would use it.
 */
describe('Vigil in the Agents Playground', () => {
  let stack: LocalStack;
  let browser: BrowserContext;
  let page: Page;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-'));

  beforeAll(async () => {
    stack = await startLocalStack({ botPort: 3988, playgroundPort: 56160, sandboxBasePort: 4020, dataDir, logLevel: 'warn' });
    browser = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-chromium-')), {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(stack.playgroundUrl);
  }, 120_000);

  afterEach(async () => {
    // A picture of the page when a test fails says more than the locator's timeout.
    const state = (expect as unknown as { getState(): { currentTestName?: string } }).getState();
    await page?.screenshot({ path: path.join(os.tmpdir(), `vigil-e2e-${(state.currentTestName ?? 'test').replace(/\W+/g, '-')}.png`) }).catch(() => undefined);
  });

  afterAll(async () => {
    console.log(`incident cards at ${CARD_WIDTH} px: ${JSON.stringify(measured)}`);
    await browser?.close();
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const cards = () => page.locator('.ac-adaptiveCard');

  it('answers help in the personal chat', async () => {
    await page.getByText('Personal Chat', { exact: true }).click();
    const box = page.locator('[data-lexical-editor="true"][role="textbox"]');
    await box.click();
    await box.fill('help');
    await page.locator('button[aria-label="Send Message"]').click();
    const help = cards().filter({ hasText: 'incident <number>' });
    await help.first().waitFor({ timeout: 20_000 });
    await expect(help.first().innerText()).resolves.toContain('Open incidents, most severe (as Vigil assessed them) and newest first');
  });

  it('shows a posted incident as a card in the team channel, and updates that same card', async () => {
    await page.getByText('General', { exact: true }).click();
    await stack.channelInstalled(30_000);

    const created = await stack.postIncident(demoIncident('brute-force-admin'));
    expect(created.status).toBe(202);
    const card = cards().filter({ hasText: 'Incident #1041' });
    // The final state: enrichment has answered, so the verdict is on the card.
    await card.filter({ hasText: 'BLOCK IMMEDIATELY' }).first().waitFor({ timeout: 30_000 });
    const before = await card.first().innerText();
    expect(before).toContain('Multiple failed sign-ins followed by success for a Global Administrator');
    expect(before).toContain('CRITICAL');
    expect(before).toContain('Unassigned');

    const updated = await stack.postIncident(demoIncident('brute-force-admin.update'));
    expect(JSON.parse(updated.body).outcome).toBe('updated');
    await card.filter({ hasText: 'Megan Bowen' }).first().waitFor({ timeout: 20_000 });
    await expect(card.count()).resolves.toBe(1);
    const after = await card.first().innerText();
    expect(after).toContain('Active');
    expect(after).not.toContain('Unassigned');
  });

  it('fits every incident card in the first screen: verdict and recommended button within 500 px, the card within its budget, no button cut off', async () => {
    await page.getByText('General', { exact: true }).click();
    // Every demo incident, each waited for in its final state (its verdict drawn).
    const numbers = [1041, 1042, 1043];
    for (const name of ['powershell-web-01', 'unfamiliar-signin']) expect((await stack.postIncident(demoIncident(name))).status).toBe(202);
    for (const n of numbers) {
      const card = cards()
        .filter({ hasText: `Incident #${n}` })
        .first();
      await card.waitFor({ timeout: 30_000 });
      // Enrichment done: no look-up still pending on the card.
      await cards()
        .filter({ hasText: `Incident #${n}` })
        .filter({ hasNotText: 'Enriching…' })
        .first()
        .waitFor({ timeout: 30_000 });
      const m = await measure(card);
      measured[`#${n}`] = m;
      expect({ n, cut: m.cutButtons }).toEqual({ n, cut: [] });
      expect(m.verdictBottom).toBeLessThanOrEqual(FIRST_SCREEN);
      if (m.recommendedBottom !== undefined) expect(m.recommendedBottom).toBeLessThanOrEqual(FIRST_SCREEN);
      expect(m.height).toBeLessThanOrEqual(CARD_BUDGET_PX);
    }
    // The Critical one recommends a block: its button is there, on the first screen.
    expect(measured['#1041']!.recommendedBottom).toBeDefined();
  });

  it('asks to block the attacker from the card, and the card shows the block done once a second analyst approves', async () => {
    await page.getByText('General', { exact: true }).click();
    const card = cards().filter({ hasText: 'Incident #1041' }).first();
    await card.getByRole('button', { name: '★ Block IP 203.0.113.66' }).first().click();
    // The click's lasting result is the stored request (the notice on the card is short-lived).
    const requested = async () => (await stack.app.db.query<{ id: string }>(`SELECT id FROM actions WHERE kind = 'block-ip' AND state = 'requested'`)).rows;
    let rows = await requested();
    for (const started = Date.now(); rows.length === 0 && Date.now() - started < 20_000; rows = await requested()) await new Promise((r) => setTimeout(r, 100));
    expect(rows).toHaveLength(1);

    // Megan Bowen approves, as `npm run approve -- 1041` does: through the Playground's impersonation.
    await expect(approveAs({ botUrl: stack.botUrl, playgroundUrl: stack.playgroundUrl, incident: 1041 })).resolves.toEqual([rows[0]!.id]);
    await cards().filter({ hasText: '✅ Block IP 203.0.113.66' }).first().waitFor({ timeout: 30_000 });
    expect(stack.sandboxes.arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes).toEqual(['203.0.113.66']);
    const done = await cards().filter({ hasText: '✅ Block IP 203.0.113.66' }).first().innerText();
    expect(done).toContain('approved by Megan Bowen');
    expect(done).toMatch(/contained \d+ (min|h|d)/);
  });

  it('pages the on-call analyst (you) for the Critical incident, and Acknowledge stops it', async () => {
    // Enrichment assesses incident 1041 as Critical; demo/oncall.yaml has Alex Wilber as primary.
    await page.getByText('Personal Chat', { exact: true }).click();
    const pageCard = cards().filter({ hasText: '🚨 Incident #1041' });
    // Named, not an object id: Graph knows who is on call.
    await pageCard.filter({ hasText: 'L1 Alex Wilber' }).first().waitFor({ timeout: 30_000 });
    await pageCard.filter({ hasText: 'Critical' }).first().waitFor({ timeout: 30_000 });
    await pageCard.first().locator('button[aria-label="Acknowledge"]').click();
    await pageCard.filter({ hasText: 'Acknowledged by Alex Wilber' }).first().waitFor({ timeout: 20_000 });
    const state = (await stack.app.db.query<{ state: string; acked_by: string }>('SELECT p.state, p.acked_by FROM pages p JOIN incidents i ON i.key = p.incident_key WHERE i.number = 1041')).rows;
    expect(state).toEqual([{ state: 'acknowledged', acked_by: 'a1b2c3d4-0000-4000-8000-000000000020' }]);
  });

  it('opens one ServiceNow case for the Critical incident (demo/cases.yaml), its number on the card; PagerDuty’s webhooks come back signed', async () => {
    // The case: one record in the ServiceNow stand-in, for #1041 only (the others are not Critical).
    for (let waited = 0; stack.sandboxes.serviceNow.records('incident').length === 0 && waited < 30_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
    const records = stack.sandboxes.serviceNow.records('incident');
    expect(records.map((r) => r.short_description)).toEqual([expect.stringContaining('Sentinel #1041')]);
    await page.getByText('General', { exact: true }).click();
    await cards()
      .filter({ hasText: 'Incident #1041' })
      .filter({ hasText: `${records[0]!.number} in ServiceNow` })
      .first()
      .waitFor({ timeout: 30_000 });

    // Vigil's trigger opened an incident in the PagerDuty stand-in; reassigned there, its signed webhook reaches Vigil and the page card says so.
    const pd = stack.sandboxes.pagerDuty.incidents().find((i) => i.title.includes('#1041'))!;
    const res = await fetch(`${stack.sandboxes.pagerDuty.url}/_control/incidents/${pd.number}/reassign`, { method: 'POST', body: JSON.stringify({ by: 'Megan Bowen', to: 'Isaiah Langer' }) });
    expect(((await res.json()) as { delivery: { status: number } }).delivery.status).toBe(202);
    await page.getByText('Personal Chat', { exact: true }).click();
    await cards().filter({ hasText: '🚨 Incident #1041' }).filter({ hasText: 'to Isaiah Langer in PagerDuty by Megan Bowen' }).first().waitFor({ timeout: 20_000 });
  });

  it('sends the second workspace’s unified incident to the Incidents channel, which the workspaces file pins to it (demo/workspaces.yaml)', async () => {
    await page.getByText('Incidents', { exact: true }).first().click();
    await stack.channelInstalled(30_000, SECOND_WORKSPACE_CHANNEL);
    expect((await stack.postIncident(secondWorkspaceDemo())).status).toBe(202);
    const card = cards().filter({ hasText: 'Incident #2107' });
    await card.filter({ hasText: 'fabrikam' }).first().waitFor({ timeout: 30_000 });
    expect(await card.first().innerText()).toContain('Multi-stage incident involving Initial access & Exfiltration');
    // Only fabrikam's: the contoso incidents stay in General.
    expect(await cards().filter({ hasText: 'Incident #1041' }).count()).toBe(0);
    const routed = await stack.app.db.query<{ conversation_id: string }>(
      "SELECT c.conversation_id FROM incident_cards c JOIN incidents i ON i.key = c.incident_key WHERE i.number = 2107 AND c.conversation_id = 'channel-incidents-id' AND c.sent_version > 0",
    );
    expect(routed.rows).toHaveLength(1);
  });
});
