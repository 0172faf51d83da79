import { nsgId, startArm, vmId } from '../../sandbox/arm';
import { createArmClient } from '../../src/actions/executors/arm-client';
import { createVmIsolator } from '../../src/actions/executors/vm-isolate';

describe('Isolate VM behind the isolation NSG', () => {
  let arm: Awaited<ReturnType<typeof startArm>>;
  beforeAll(async () => {
    arm = await startArm();
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());
  const isolator = () => createVmIsolator({ arm: createArmClient({ endpoint: arm.url, timeoutMs: 2000, sleep: async () => undefined }), isolationNsgId: nsgId('isolation-nsg'), subscriptionId: '00000000-0000-0000-0000-000000000000' });

  it('points the NIC at the isolation NSG with its etag, remembers the old one, and the undo restores it', async () => {
    const r = await isolator().isolate(vmId('web-01'));
    expect(r).toMatchObject({ previousNsgId: nsgId('web-nsg'), changed: true });
    const [put] = arm.requests('PUT', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic');
    expect(put!.headers['if-match']).toBe('W/"nic-web-01-0"');
    expect((put!.body as { properties: { networkSecurityGroup: { id: string } } }).properties.networkSecurityGroup).toEqual({ id: nsgId('isolation-nsg') });
    expect(arm.vms.find((v) => v.name === 'web-01')!.nsg).toBe('isolation-nsg');
    // Isolating again changes nothing and keeps what the first isolation remembered.
    expect(await isolator().isolate(vmId('web-01'))).toMatchObject({ changed: false });
    await isolator().release(vmId('web-01'), r.previousNsgId);
    expect(arm.vms.find((v) => v.name === 'web-01')!.nsg).toBe('web-nsg');
  });

  it('refuses a VM tagged vigil-protected, and a VM that does not exist', async () => {
    await expect(isolator().isolate(vmId('dc-01'))).rejects.toThrow('dc-01 is tagged vigil-protected');
    await expect(isolator().isolate(vmId('ghost'))).rejects.toThrow('the VM ghost does not exist');
    expect(arm.requests('PUT')).toHaveLength(0);
  });
});
