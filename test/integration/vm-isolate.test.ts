import { nicId, nsgId, startArm, vmId } from '../../sandbox/arm';
import { createArmClient } from '../../src/actions/executors/arm-client';
import { createVmFinder, createVmIsolator } from '../../src/actions/executors/vm-isolate';

const NIC_PUT = '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic';
const NSG_GET = '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:nsg';

describe('Isolate VM behind the isolation NSG', () => {
  let arm: Awaited<ReturnType<typeof startArm>>;
  beforeAll(async () => {
    arm = await startArm();
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());
  const armClient = (a = arm) => createArmClient({ endpoint: a.url, timeoutMs: 2000, sleep: async () => undefined });
  const isolator = (a = arm, isolationNsgId: string | string[] = nsgId('isolation-nsg')) =>
    createVmIsolator({ arm: armClient(a), isolationNsgId, subscriptionId: '00000000-0000-0000-0000-000000000000' });
  /** ISOLATION_NSG_ID with one NSG per region: westeurope and eastus. */
  const everyRegion = () => isolator(arm, [nsgId('isolation-nsg'), nsgId('isolation-nsg-eastus')]);
  const vm = (name: string) => arm.vms.find((v) => v.name === name)!;

  it('finds a VM by its ARM id (from Defender or Sentinel) or by name, with its vigil-protected tag, for either isolation path', async () => {
    const finder = createVmFinder({ arm: armClient(), subscriptionId: '00000000-0000-0000-0000-000000000000' });
    expect(await finder.find('dirsvc.contoso.example', vmId('dc-01'))).toEqual({ vmId: vmId('dc-01'), name: 'dc-01', protectedByTag: true });
    expect(arm.requests('GET', '/subscriptions/:s/providers/Microsoft.Compute/virtualMachines')).toEqual([]);
    expect(await finder.find('DC-01.contoso.example')).toEqual({ vmId: vmId('dc-01'), name: 'dc-01', protectedByTag: true });
    // A stale ARM id falls back to the name.
    expect(await finder.find('web-01', vmId('gone-01'))).toEqual({ vmId: vmId('web-01'), name: 'web-01', protectedByTag: false });
    expect(await finder.find('laptop-7')).toBeUndefined();
    arm.set({ fail: { count: 10, status: 403 } });
    await expect(finder.find('web-01')).rejects.toMatchObject({ status: 403 });
  });

  it('points the NIC at the isolation NSG with its etag, remembers the old one, and the undo restores it', async () => {
    const r = await isolator().isolate(vmId('web-01'));
    expect(r).toEqual({ nics: [nicId('web-01-nic')], previousNsgId: { [nicId('web-01-nic')]: nsgId('web-nsg') }, changed: true });
    const [put] = arm.requests('PUT', NIC_PUT);
    expect(put!.headers['if-match']).toBe('W/"nic-web-01-0"');
    expect((put!.body as { properties: { networkSecurityGroup: { id: string } } }).properties.networkSecurityGroup).toEqual({ id: nsgId('isolation-nsg') });
    expect(vm('web-01').nsg).toBe('isolation-nsg');
    // A second run (the first one's result was lost with its process) changes nothing and still
    // knows, from the NIC's tag, which NSG the Undo gives back.
    const again = await isolator().isolate(vmId('web-01'));
    expect(again).toEqual({ nics: [nicId('web-01-nic')], previousNsgId: { [nicId('web-01-nic')]: nsgId('web-nsg') }, changed: false });
    expect(arm.requests('PUT', NIC_PUT)).toHaveLength(1);
    await isolator().release(again.previousNsgId);
    expect(vm('web-01').nsg).toBe('web-nsg');
  });

  it('leaves out of the Undo a NIC someone isolated by hand (no tag of ours says what it had)', async () => {
    vm('web-01').nsg = 'isolation-nsg';
    try {
      expect(await isolator().isolate(vmId('web-01'))).toEqual({ nics: [nicId('web-01-nic')], previousNsgId: {}, changed: false });
      expect(arm.requests('PUT', NIC_PUT)).toEqual([]);
    } finally {
      vm('web-01').nsg = 'web-nsg';
    }
  });

  it('writes the whole NIC back, so its tags survive isolation and release', async () => {
    const r = await isolator().isolate(vmId('web-01'));
    const [put] = arm.requests('PUT', NIC_PUT);
    expect(put!.body).toMatchObject({ location: 'westeurope', tags: { env: 'prod', costCenter: 'cc-1042' }, properties: { ipConfigurations: [expect.objectContaining({ name: 'ipconfig1' })] } });
    expect(vm('web-01').nicTags).toEqual({ env: 'prod', costCenter: 'cc-1042', 'vigil-previous-nsg': nsgId('web-nsg') });
    await isolator().release(r.previousNsgId);
    expect(vm('web-01')).toMatchObject({ nsg: 'web-nsg', nicTags: { env: 'prod', costCenter: 'cc-1042' } });
  });

  it('isolates every NIC of the VM and gives each its own NSG back', async () => {
    const r = await isolator().isolate(vmId('app-01'));
    expect(r).toEqual({
      nics: [nicId('app-01-nic'), nicId('app-01-nic-backend')],
      previousNsgId: { [nicId('app-01-nic')]: nsgId('app-nsg'), [nicId('app-01-nic-backend')]: null },
      changed: true,
    });
    expect(vm('app-01').nsg).toBe('isolation-nsg');
    expect(vm('app-01').moreNics![0]).toMatchObject({ nsg: 'isolation-nsg', tags: { env: 'prod', tier: 'backend' } });

    await isolator().release(r.previousNsgId);
    expect(vm('app-01')).toMatchObject({ nsg: 'app-nsg', nicTags: { env: 'prod', tier: 'front' } });
    expect(vm('app-01').moreNics![0]).toMatchObject({ nsg: null, tags: { env: 'prod', tier: 'backend' } });
  });

  it('puts back the NICs it moved when another NIC cannot be isolated', async () => {
    arm.set({ fail: { count: 1, status: 400, method: 'PUT', path: NIC_PUT.replace(':nic', 'app-01-nic-backend') } });
    await expect(isolator().isolate(vmId('app-01'))).rejects.toMatchObject({ name: 'UpstreamError', upstream: 'Azure Resource Manager', status: 400 });
    expect(vm('app-01').nsg).toBe('app-nsg');
    expect(vm('app-01').moreNics![0]!.nsg).toBeNull();
  });

  it('fails when a NIC to release no longer exists, instead of reading it as "no NSG"', async () => {
    const r = await isolator().isolate(vmId('app-01'));
    const backend = vm('app-01').moreNics!.pop()!;
    try {
      await expect(isolator().release(r.previousNsgId)).rejects.toMatchObject({ status: 404, message: 'the network interface app-01-nic-backend no longer exists' });
      // The NIC that is still there is released all the same.
      expect(vm('app-01').nsg).toBe('app-nsg');
    } finally {
      vm('app-01').moreNics!.push({ ...backend, nsg: null });
    }
  });

  it('takes a NIC that answers 404 for an error, never for a NIC without an NSG', async () => {
    const gone = () => ({ count: 1, status: 404, method: 'GET', path: NIC_PUT.replace(':nic', 'web-01-nic') });
    arm.set({ fail: gone() });
    await expect(isolator().isolate(vmId('web-01'))).rejects.toMatchObject({ status: 404, message: 'the network interface web-01-nic no longer exists' });
    // An isolation recorded with no previous NSG: a missing NIC must not read as "already released".
    arm.set({ fail: gone() });
    await expect(isolator().release({ [nicId('web-01-nic')]: null })).rejects.toMatchObject({ status: 404, message: 'the network interface web-01-nic no longer exists' });
    expect(arm.requests('PUT')).toHaveLength(0);
  });

  it('refuses a VM tagged vigil-protected, and a VM that does not exist', async () => {
    await expect(isolator().isolate(vmId('dc-01'))).rejects.toThrow('dc-01 is tagged vigil-protected');
    await expect(isolator().isolate(vmId('ghost'))).rejects.toThrow('the VM ghost does not exist');
    expect(arm.requests('PUT')).toHaveLength(0);
  });

  it('finds a VM by name on a later page of the VM list', async () => {
    const paged = await startArm({ vmPageSize: 1 });
    try {
      expect(await isolator(paged).find('app-01.contoso.example')).toEqual({ vmId: vmId('app-01'), name: 'app-01', protectedByTag: false });
      expect(paged.requests('GET', '/subscriptions/:s/providers/Microsoft.Compute/virtualMachines').map((r) => r.query.$skiptoken)).toEqual([undefined, '1', '2']);
      expect(await isolator(paged).find('nowhere-01')).toBeUndefined();
    } finally {
      await paged.close();
    }
  });

  describe('with VMs in several regions', () => {
    const nsgOfPut = (i: number) => (arm.requests('PUT', NIC_PUT)[i]!.body as { properties: { networkSecurityGroup: { id: string } | null } }).properties.networkSecurityGroup;

    it("puts each VM behind its own region's isolation NSG, reads where the NSGs are once, and releases it", async () => {
      const isolate = everyRegion();
      const r = await isolate.isolate(vmId('api-01'));
      expect(r).toEqual({ nics: [nicId('api-01-nic')], previousNsgId: { [nicId('api-01-nic')]: nsgId('api-nsg') }, changed: true });
      expect(nsgOfPut(0)).toEqual({ id: nsgId('isolation-nsg-eastus') });
      expect(vm('api-01')).toMatchObject({ nsg: 'isolation-nsg-eastus', nicTags: { env: 'prod', 'vigil-previous-nsg': nsgId('api-nsg') } });
      await isolate.isolate(vmId('web-01'));
      expect(nsgOfPut(1)).toEqual({ id: nsgId('isolation-nsg') });
      expect(arm.requests('GET', NSG_GET).map((req) => req.path.split('/').pop())).toEqual(['isolation-nsg', 'isolation-nsg-eastus']);

      // Behind the eastus NSG counts as isolated: a second run changes nothing and still knows what to give back.
      const again = await isolate.isolate(vmId('api-01'));
      expect(again).toEqual({ ...r, changed: false });
      await isolate.release(again.previousNsgId);
      await isolate.release({ [nicId('web-01-nic')]: nsgId('web-nsg') });
      expect(vm('api-01')).toMatchObject({ nsg: 'api-nsg', nicTags: { env: 'prod' } });
      expect(vm('web-01').nsg).toBe('web-nsg');
    });

    it('refuses a VM in a region with no isolation NSG, writing no NIC', async () => {
      await expect(isolator().isolate(vmId('api-01'))).rejects.toMatchObject({
        name: 'UpstreamError',
        upstream: 'Azure Resource Manager',
        status: 400,
        message: 'no isolation NSG in eastus (ISOLATION_NSG_ID lists NSGs in westeurope)',
      });
      expect(arm.requests('PUT')).toEqual([]);
      expect(vm('api-01').nsg).toBe('api-nsg');
    });

    it('says which isolation NSG does not exist, and reads again on the next try', async () => {
      const isolate = isolator(arm, [nsgId('isolation-nsg'), nsgId('isolation-nsg-gone')]);
      for (let i = 0; i < 2; i++) {
        await expect(isolate.isolate(vmId('web-01'))).rejects.toMatchObject({ status: 404, message: 'the isolation NSG isolation-nsg-gone in ISOLATION_NSG_ID does not exist' });
      }
      expect(arm.requests('GET', NSG_GET.replace(':nsg', 'isolation-nsg-gone'))).toHaveLength(2);
      expect(arm.requests('PUT')).toEqual([]);
    });

    it('the ARM stand-in refuses an NSG in another region than the NIC, as the Network RP does', async () => {
      const url = `${arm.url}${nicId('api-01-nic')}?api-version=2024-07-01`;
      const nic = (await (await fetch(url)).json()) as { properties: Record<string, unknown> };
      const put = await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...nic, properties: { ...nic.properties, networkSecurityGroup: { id: nsgId('isolation-nsg') } } }),
      });
      expect(put.status).toBe(400);
      expect(await put.json()).toEqual({
        error: {
          code: 'InvalidResourceReference',
          message: `Resource ${nsgId('isolation-nsg')} referenced by resource ${nicId('api-01-nic')} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
          details: [],
        },
      });
      expect(vm('api-01').nsg).toBe('api-nsg');
    });
  });
});
