import { SANDBOX_SUBSCRIPTION, nsgId, startArm } from '../../sandbox/arm';
import { createArmClient } from '../../src/actions/executors/arm-client';
import { createNsgBlocker } from '../../src/actions/executors/nsg-block';

describe('Block IP on a network security group', () => {
  let arm: Awaited<ReturnType<typeof startArm>>;
  beforeAll(async () => {
    arm = await startArm({ pollsPerOperation: 2 });
  });
  afterAll(() => arm.close());
  beforeEach(() => {
    arm.reset();
    arm.nsgRules.clear();
    slept = [];
  });
  /** What the client slept: Retry-After is honoured without the test waiting for it. */
  let slept: number[] = [];
  const blocker = () =>
    createNsgBlocker({
      arm: createArmClient({ endpoint: arm.url, timeoutMs: 2000, sleep: async (ms) => void slept.push(ms) }),
      nsgId: nsgId('edge-nsg'),
      ruleName: 'vigil-block',
      priority: 110,
    });
  const prefixes = (rule: string) => {
    const r = arm.nsgRules.get(`edge-nsg/${rule}`);
    return (r?.properties.sourceAddressPrefixes ?? r?.properties.destinationAddressPrefixes) as string[] | undefined;
  };

  it('creates the deny rules with the address, following each write to its end', async () => {
    expect(await blocker().block('8.8.8.8')).toEqual({ changed: true, rules: ['vigil-block-in', 'vigil-block-out'] });
    expect(prefixes('vigil-block-in')).toEqual(['8.8.8.8']);
    expect(prefixes('vigil-block-out')).toEqual(['8.8.8.8']);
    const [put] = arm.requests('PUT', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:n/securityRules/:r');
    expect(put!.headers['if-none-match']).toBe('*');
    expect(put!.query['api-version']).toBe('2024-07-01');
    expect(put!.body).toMatchObject({ properties: { access: 'Deny', direction: 'Inbound', priority: 110, protocol: '*', sourceAddressPrefixes: ['8.8.8.8'], destinationAddressPrefix: '*' } });
    // Two writes, each polled until the operation said Succeeded (the sandbox answers InProgress twice).
    expect(arm.requests('GET', `/subscriptions/${SANDBOX_SUBSCRIPTION}/providers/Microsoft.Network/locations/:l/operations/:op`)).toHaveLength(6);
  });

  it('adds to the rule with its etag, does nothing for an address already there, and undoes', async () => {
    const b = blocker();
    await b.block('8.8.8.8');
    const etag = arm.nsgRules.get('edge-nsg/vigil-block-in')!.etag;
    expect((await b.block('1.1.1.1')).changed).toBe(true);
    const puts = arm.requests('PUT');
    expect(puts[2]!.headers['if-match']).toBe(etag);
    expect(prefixes('vigil-block-in')).toEqual(['8.8.8.8', '1.1.1.1']);
    const writes = arm.requests('PUT').length;
    expect((await b.block('1.1.1.1')).changed).toBe(false);
    expect(arm.requests('PUT')).toHaveLength(writes);
    expect((await b.unblock('8.8.8.8')).changed).toBe(true);
    expect(prefixes('vigil-block-out')).toEqual(['1.1.1.1']);
    await b.unblock('1.1.1.1');
    expect(arm.nsgRules.has('edge-nsg/vigil-block-in')).toBe(false);
  });

  it('loses no address when five blocks race: every etag conflict is read again', async () => {
    const ips = ['8.8.8.8', '1.1.1.1', '9.9.9.9', '4.2.2.2', '208.67.222.222'];
    await Promise.all(ips.map((ip) => blocker().block(ip)));
    expect([...(prefixes('vigil-block-in') ?? [])].sort()).toEqual([...ips].sort());
    expect([...(prefixes('vigil-block-out') ?? [])].sort()).toEqual([...ips].sort());
    expect(arm.requests('PUT').length).toBeGreaterThan(ips.length * 2);
  });

  it('waits out throttling and reports a failed operation', async () => {
    arm.set({ throttle: { count: 1, retryAfterSeconds: 3 } });
    await blocker().block('8.8.8.8');
    expect(slept[0]).toBe(3000);
    expect(prefixes('vigil-block-in')).toEqual(['8.8.8.8']);
    arm.nsgControl.failNextOperation = true;
    await expect(blocker().block('1.1.1.1')).rejects.toThrow(/updating vigil-block-in failed: The operation failed on purpose/);
  });
});
