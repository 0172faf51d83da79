import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { demoIncident } from '../helpers/fixtures';

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
    await expect(help.first().innerText()).resolves.toContain('Open incidents, most severe and newest first');
  });

  it('shows a posted incident as a card in the team channel, and updates that same card', async () => {
    await page.getByText('General', { exact: true }).click();
    await stack.channelInstalled(30_000);

    const created = await stack.postIncident(demoIncident('brute-force-admin'));
    expect(created.status).toBe(202);
    const card = cards().filter({ hasText: 'Incident #1041' });
    await card.first().waitFor({ timeout: 20_000 });
    const before = await card.first().innerText();
    expect(before).toContain('Multiple failed sign-ins followed by success for a Global Administrator');
    expect(before).toContain('HIGH');
    expect(before).toContain('Unassigned');

    const updated = await stack.postIncident(demoIncident('brute-force-admin.update'));
    expect(JSON.parse(updated.body).outcome).toBe('updated');
    await card.filter({ hasText: 'Megan Bowen' }).first().waitFor({ timeout: 20_000 });
    await expect(card.count()).resolves.toBe(1);
    const after = await card.first().innerText();
    expect(after).toContain('Active');
    expect(after).not.toContain('Unassigned');
  });

  it('asks to block the attacker from the card, and the card shows the block done once a second analyst approves', async () => {
    await page.getByText('General', { exact: true }).click();
    const card = cards().filter({ hasText: 'Incident #1041' }).first();
    await card.getByRole('button', { name: '★ Block IP 203.0.113.66' }).first().click();
    // The click's lasting result is the stored request; the "Requested …" notice on the card is
    // short-lived (the card's next update replaces it), so the test waits for the request itself.
    const requested = async () => (await stack.app.db.query<{ id: string }>(`SELECT id FROM actions WHERE kind = 'block-ip' AND state = 'requested'`)).rows;
    let rows = await requested();
    for (const started = Date.now(); rows.length === 0 && Date.now() - started < 20_000; rows = await requested()) await new Promise((r) => setTimeout(r, 100));
    expect(rows).toHaveLength(1);

    // Megan Bowen approves from her own Teams: the invoke her client would send.
    const serviceUrl = (await stack.app.db.query<{ service_url: string }>('SELECT service_url FROM conversations LIMIT 1')).rows[0]!.service_url;
    const res = await fetch(`${stack.botUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: 'megan-approves',
        channelId: 'msteams',
        serviceUrl,
        from: { id: 'user-id-1', name: 'Megan Bowen', aadObjectId: '7faf8ab2-3d56-4244-b585-20c8a42ed2b8' },
        recipient: { id: '00000000-0000-0000-0000-00000000000011', name: 'Vigil' },
        conversation: { id: 'team-soc-id', conversationType: 'channel', tenantId: 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f' },
        channelData: { tenant: { id: 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f' } },
        value: { action: { type: 'Action.Execute', verb: 'action.approve', data: { action: rows[0]!.id } }, trigger: 'manual' },
      }),
    });
    expect(await res.text()).toContain('will run now');
    await cards().filter({ hasText: '✅ Block IP 203.0.113.66' }).first().waitFor({ timeout: 30_000 });
    expect(stack.sandboxes.arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes).toEqual(['203.0.113.66']);
  });

  it('pages the on-call analyst (you) for the Critical incident, and Acknowledge stops it', async () => {
    // Enrichment assesses incident 1041 as Critical; demo/oncall.yaml has Alex Wilber as primary.
    await page.getByText('Personal Chat', { exact: true }).click();
    const pageCard = cards().filter({ hasText: '🚨 Incident #1041' });
    await pageCard.filter({ hasText: 'Critical' }).first().waitFor({ timeout: 30_000 });
    await pageCard.first().locator('button[aria-label="Acknowledge"]').click();
    await pageCard.filter({ hasText: 'Acknowledged by Alex Wilber' }).first().waitFor({ timeout: 20_000 });
    const state = (await stack.app.db.query<{ state: string; acked_by: string }>('SELECT state, acked_by FROM pages')).rows;
    expect(state).toEqual([{ state: 'acknowledged', acked_by: 'a1b2c3d4-0000-4000-8000-000000000020' }]);
  });
});
