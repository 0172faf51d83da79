import { SANDBOX_MACHINES, startDefender } from '../../sandbox/defender';
import { createDefenderClient } from '../../src/actions/executors/defender-client';
import { createMachineIsolator } from '../../src/actions/executors/mde-isolate';

const WEB_01 = SANDBOX_MACHINES[0]!.id;
const LAPTOP_7 = 'b3a0d1c2e4f5061728394a5b6c7d8e9f00112233';
const SQL_01 = 'c4b1e2d3f4a5061728394a5b6c7d8e9f00112233';
const SQL_01_VM = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/sql-01';
const ISOLATE = '/api/machines/:id/isolate';
const POLL = '/api/machineactions/:id';

describe('Isolate device through Defender for Endpoint', () => {
  let mde: Awaited<ReturnType<typeof startDefender>>;
  beforeAll(async () => {
    mde = await startDefender({
      machines: [
        ...SANDBOX_MACHINES.map((m) => ({ ...m })),
        { id: LAPTOP_7, computerDnsName: 'laptop-7', healthStatus: 'Active', riskScore: 'Low', exposureLevel: 'Low' },
        {
          id: SQL_01,
          computerDnsName: 'sql-01.contoso.example',
          healthStatus: 'Active',
          riskScore: 'Low',
          exposureLevel: 'Low',
          vmMetadata: { vmId: 'vm-sql-01', cloudProvider: 'Azure', resourceId: SQL_01_VM, subscriptionId: '00000000-0000-0000-0000-000000000000' },
        },
      ],
    });
  });
  afterAll(() => mde.close());
  beforeEach(() => {
    mde.reset();
    slept = [];
  });
  /** What the isolator slept: polling and Retry-After are checked without the test waiting. */
  let slept: number[] = [];
  const sleep = async (ms: number) => void slept.push(ms);
  const isolator = (o: { timeoutMs?: number; maxWaitMs?: number } = {}) =>
    createMachineIsolator({ defender: createDefenderClient({ endpoint: mde.url, timeoutMs: o.timeoutMs ?? 2000, sleep, random: () => 0.5 }), pollMs: 10, maxWaitMs: o.maxWaitMs, sleep });

  it('finds the machine by its FQDN, else by its short name, and refuses what is not a host name', async () => {
    expect(await isolator().findMachine('WEB-01.contoso.example')).toEqual({ id: WEB_01, computerDnsName: 'web-01.contoso.example' });
    expect(mde.requests('GET', '/api/machines')[0]!.query.$filter).toBe("computerDnsName eq 'web-01.contoso.example'");
    expect(await isolator().findMachine('laptop-7.contoso.example')).toEqual({ id: LAPTOP_7, computerDnsName: 'laptop-7' });
    expect(await isolator().findMachine('ghost.contoso.example')).toBeUndefined();
    // An Azure VM: Defender's vmMetadata names its ARM resource, where its tags are read.
    expect(await isolator().findMachine('sql-01.contoso.example')).toEqual({ id: SQL_01, computerDnsName: 'sql-01.contoso.example', azureResourceId: SQL_01_VM });
    const before = mde.requests().length;
    await expect(isolator().findMachine("web-01' or 1 eq 1")).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(mde.requests()).toHaveLength(before);
  });

  it('posts the isolation with the exact body, polls it to Succeeded, and the release undoes it', async () => {
    const comment = 'Vigil: incident 42, approved by Megan Bowen';
    const r = await isolator().isolate(WEB_01, comment);
    expect(mde.requests('POST', ISOLATE).map((q) => q.body)).toEqual([{ Comment: comment, IsolationType: 'Full' }]);
    expect(mde.requests('POST', ISOLATE)[0]!.headers.authorization).toBeUndefined();
    expect(mde.machineActions).toEqual([expect.objectContaining({ id: r.machineActionId, type: 'Isolate', scope: 'Full', status: 'Succeeded', requestorComment: comment, machineId: WEB_01 })]);
    // The stand-in answers InProgress to two polls, then Succeeded; each poll waited pollMs.
    expect(mde.requests('GET', POLL).map((q) => q.path)).toEqual(Array(3).fill(`/api/machineactions/${r.machineActionId}`));
    expect(slept).toEqual([10, 10, 10]);
    expect(mde.machines[0]!.isolated).toBe(true);

    // Asking again follows the isolation that is already done: no second action.
    expect(await isolator().isolate(WEB_01, comment)).toEqual(r);
    expect(mde.requests('POST', ISOLATE)).toHaveLength(1);

    const released = await isolator().release(WEB_01, 'Vigil: undo');
    expect(mde.requests('POST', '/api/machines/:id/unisolate').map((q) => q.body)).toEqual([{ Comment: 'Vigil: undo' }]);
    expect(mde.machineActions.find((a) => a.id === released.machineActionId)).toMatchObject({ type: 'Unisolate', status: 'Succeeded' });
    expect(mde.machines[0]!.isolated).toBe(false);
  });

  it('follows an isolation someone else already asked for, and absorbs the 400 when two requests race', async () => {
    const portal = await fetch(`${mde.url}/api/machines/${WEB_01}/isolate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Comment: 'from the portal', IsolationType: 'Selective' }),
    });
    const pending = (await portal.json()) as { id: string; status: string };
    expect([portal.status, pending.status]).toEqual([201, 'Pending']);
    expect(await isolator().isolate(WEB_01, 'Vigil')).toEqual({ machineActionId: pending.id });
    expect(mde.requests('POST', ISOLATE)).toHaveLength(1);

    mde.reset();
    // Both read "no isolation yet" before either posts; Defender refuses the second with 400.
    mde.set({ latencyMs: 30 });
    const [a, b] = await Promise.all([isolator().isolate(WEB_01, 'Vigil: first approver'), isolator().isolate(WEB_01, 'Vigil: second approver')]);
    expect(mde.requests('POST', ISOLATE)).toHaveLength(2);
    expect(mde.machineActions).toHaveLength(1);
    expect(a).toEqual({ machineActionId: mde.machineActions[0]!.id });
    expect(b).toEqual(a);
  });

  it('says clearly when the action fails, the machine is unknown, or the id is not one', async () => {
    mde.control.failNextAction = true;
    await expect(isolator().isolate(WEB_01, 'Vigil')).rejects.toMatchObject({ name: 'UpstreamError', status: 422, message: 'Defender could not isolate web-01.contoso.example: Failed' });
    expect(mde.machines[0]!.isolated).toBeFalsy();

    const ghost = 'f'.repeat(40);
    await expect(isolator().isolate(ghost, 'Vigil')).rejects.toMatchObject({ status: 404, message: `Defender has no machine ${ghost}` });
    const before = mde.requests().length;
    await expect(isolator().isolate('../indicators/1', 'Vigil')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(mde.requests()).toHaveLength(before);
  });

  it('waits out throttling as Retry-After says, and gives up on an action that never ends', async () => {
    mde.set({ throttle: { count: 1, retryAfterSeconds: 3 } });
    await isolator().isolate(WEB_01, 'Vigil');
    expect(slept[0]).toBe(3000);
    expect(mde.machines[0]!.isolated).toBe(true);

    mde.reset();
    slept = [];
    mde.control.pollsPerAction = 1000;
    await expect(isolator({ maxWaitMs: 50 }).isolate(WEB_01, 'Vigil')).rejects.toMatchObject({
      status: 0,
      message: 'Defender has not finished the isolation of web-01.contoso.example after 1 s (still InProgress)',
    });
    expect(mde.requests('GET', POLL)).toHaveLength(5);
  });

  it('reports a Defender that never answers as a timeout (status 0)', async () => {
    mde.set({ hang: true });
    await expect(isolator({ timeoutMs: 50 }).isolate(WEB_01, 'Vigil')).rejects.toMatchObject({ name: 'UpstreamError', status: 0, message: 'Defender for Endpoint did not answer within 50 ms' });
    expect(slept).toEqual([125, 250, 500]); // full-jitter backoff, the jitter pinned at one half
  });
});
