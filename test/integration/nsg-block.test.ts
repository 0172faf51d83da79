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

  it('reads each rule back after writing, and writes again when a racing writer put an old list back', async () => {
    await blocker().block('1.1.1.1');
    const client = createArmClient({ endpoint: arm.url, timeoutMs: 2000, sleep: async () => undefined });
    let raced = false;
    // Another writer (one Azure did not hold to the etag) puts back the list it read before our write.
    const racing = {
      ...client,
      // The racing write lands while our operation runs, before the read-back that goes alongside it.
      async waitFor(response: Parameters<typeof client.waitFor>[0], what: string) {
        if (!raced && what.includes('vigil-block-in')) {
          raced = true;
          arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes = ['1.1.1.1'];
        }
        await client.waitFor(response, what);
      },
    };
    const before = arm.requests('PUT').length;
    await createNsgBlocker({ arm: racing, nsgId: nsgId('edge-nsg'), ruleName: 'vigil-block', priority: 110 }).block('8.8.8.8');
    expect(raced).toBe(true);
    expect(prefixes('vigil-block-in')).toEqual(['1.1.1.1', '8.8.8.8']);
    expect(prefixes('vigil-block-out')).toEqual(['1.1.1.1', '8.8.8.8']);
    expect(
      arm
        .requests('PUT')
        .slice(before)
        .map((r) => r.path.split('/').pop())
        .sort(),
    ).toEqual(['vigil-block-in', 'vigil-block-in', 'vigil-block-out']);
  });

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
    // The last address out deletes the rules: 202 with only Location, followed until the delete is done.
    const [del] = arm.requests('DELETE');
    expect(del!.query['api-version']).toBe('2024-07-01');
    expect(arm.requests('GET', `/subscriptions/${SANDBOX_SUBSCRIPTION}/providers/Microsoft.Network/locations/:l/operationResults/:op`)).toHaveLength(6);
    expect(arm.nsgRules.has('edge-nsg/vigil-block-in')).toBe(false);
    expect(arm.nsgRules.has('edge-nsg/vigil-block-out')).toBe(false);
  });

  it('loses no address when five blocks race: every etag conflict is read again', async () => {
    const ips = ['8.8.8.8', '1.1.1.1', '9.9.9.9', '4.2.2.2', '208.67.222.222'];
    await Promise.all(ips.map((ip) => blocker().block(ip)));
    expect([...(prefixes('vigil-block-in') ?? [])].sort()).toEqual([...ips].sort());
    expect([...(prefixes('vigil-block-out') ?? [])].sort()).toEqual([...ips].sort());
    expect(arm.requests('PUT').length).toBeGreaterThan(ips.length * 2);
  });

  it('the stand-in refuses a rule the Network RP would', async () => {
    const rules = `${arm.url}${nsgId('edge-nsg')}/securityRules`;
    const valid = {
      protocol: '*',
      access: 'Deny',
      direction: 'Inbound',
      priority: 120,
      sourcePortRange: '*',
      destinationPortRange: '*',
      sourceAddressPrefix: '203.0.113.9',
      destinationAddressPrefix: '*',
    };
    const put = (url: string, properties: Record<string, unknown>) => fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties }) });
    const refusal = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code });

    expect(await refusal(await put(`${rules}/soc-in`, valid))).toEqual({ status: 400, code: 'MissingApiVersionParameter' });
    expect(await refusal(await put(`${arm.url}${nsgId('no-such-nsg')}/securityRules/soc-in?api-version=2024-07-01`, valid))).toEqual({ status: 404, code: 'ResourceNotFound' });
    for (const [properties, code] of [
      [{ ...valid, priority: 99 }, 'SecurityRuleInvalidPriority'],
      [{ ...valid, priority: 4097 }, 'SecurityRuleInvalidPriority'],
      [{ ...valid, protocol: 'HTTP' }, 'SecurityRuleInvalidProtocol'],
      [{ ...valid, direction: 'Sideways' }, 'SecurityRuleInvalidDirection'],
    ] as const) {
      expect(await refusal(await put(`${rules}/soc-in?api-version=2024-07-01`, properties))).toEqual({ status: 400, code });
    }
    expect((await put(`${rules}/soc-in?api-version=2024-07-01`, valid)).status).toBe(201);
    // The same priority is refused in the same direction only, and a rule may keep its own.
    expect(await refusal(await put(`${rules}/soc-in-2?api-version=2024-07-01`, valid))).toEqual({ status: 400, code: 'SecurityRuleConflict' });
    expect((await put(`${rules}/soc-out?api-version=2024-07-01`, { ...valid, direction: 'Outbound' })).status).toBe(201);
    const etag = arm.nsgRules.get('edge-nsg/soc-in')!.etag;
    expect(
      (
        await fetch(`${rules}/soc-in?api-version=2024-07-01`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', 'if-match': etag },
          body: JSON.stringify({ properties: { ...valid, protocol: 'Tcp' } }),
        })
      ).status,
    ).toBe(200);
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
