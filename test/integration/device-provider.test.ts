import { SANDBOX_SUBSCRIPTION, startArm } from '../../sandbox/arm';
import { startDefender } from '../../sandbox/defender';
import { createDevice } from '../../src/enrichment/providers/device';

describe('device state from ARM and Defender for Endpoint', () => {
  let arm: Awaited<ReturnType<typeof startArm>>;
  let mde: Awaited<ReturnType<typeof startDefender>>;
  beforeAll(async () => {
    [arm, mde] = await Promise.all([startArm(), startDefender()]);
  });
  afterAll(async () => {
    await Promise.all([arm.close(), mde.close()]);
  });
  beforeEach(() => {
    arm.reset();
    mde.reset();
  });
  const provider = (o: { mde?: boolean; timeoutMs?: number } = {}) =>
    createDevice({ armEndpoint: arm.url, subscriptionId: SANDBOX_SUBSCRIPTION, mdeEndpoint: o.mde === false ? undefined : mde.url, timeoutMs: o.timeoutMs ?? 2000, cacheTtlMs: 0 });

  it("reads the VM's power state, NIC and NSG, and the Defender machine's health and isolation", async () => {
    mde.machines[0]!.isolated = true;
    const r = await provider().lookup({ kind: 'host', value: 'web-01.contoso.example' });
    expect(r).toMatchObject({
      status: 'ok',
      source: 'Device',
      facts: { VM: 'web-01', power: 'running', NIC: 'web-01-nic', NSG: 'web-nsg', 'private IP': '10.1.0.4', health: 'Active', 'MDE risk': 'High', exposure: 'Medium', isolated: true },
    });
    const [machines] = mde.requests('GET', '/api/machines');
    expect(machines!.query.$filter).toBe("computerDnsName eq 'web-01.contoso.example'");
    expect(arm.requests().every((req) => req.query['api-version'] && req.headers.authorization === undefined)).toBe(true);
    mde.machines[0]!.isolated = false;
  });

  it('says what it could not find, and skips Defender when it is not configured', async () => {
    expect(await provider().lookup({ kind: 'host', value: 'laptop-7.contoso.example' })).toMatchObject({ status: 'ok', facts: { VM: 'not found in Azure', Defender: 'not onboarded' } });
    expect(await provider({ mde: false }).lookup({ kind: 'host', value: 'web-01' })).toMatchObject({ facts: { VM: 'web-01' } });
    expect(mde.requests()).toHaveLength(1);
  });

  it('refuses host names that could change the request, and reports a slow ARM as unavailable', async () => {
    const p = provider({ timeoutMs: 50 });
    expect(p.supports({ kind: 'host', value: "web-01' or 1 eq 1" })).toBe(false);
    expect(p.supports({ kind: 'host', value: '../../subscriptions' })).toBe(false);
    arm.set({ hang: true });
    expect(await p.lookup({ kind: 'host', value: 'web-01' })).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/did not answer within 50 ms$/) });
  });
});
