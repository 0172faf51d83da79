import { nsgId, startArm } from '../../sandbox/arm';
import { startStandIn, type StandIn } from '../../sandbox/stand-in';
import { createArmClient } from '../../src/actions/executors/arm-client';
import { UpstreamError } from '../../src/http/upstream-error';
import { RunAborted } from '../../src/actions/run-aborted';

const OPERATION = '/subscriptions/:sub/providers/Microsoft.Network/locations/westeurope/operationResults/:op';
const GATEWAY_PAGE = '<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>';

describe('ARM client', () => {
  let arm: Awaited<ReturnType<typeof startArm>>;
  /** An ARM whose long-running operation reports through `Location` only, with its own Retry-After. */
  let lro: StandIn;
  let pollsLeft = 0;
  let slept: number[] = [];
  beforeAll(async () => {
    arm = await startArm();
    let base = '';
    const location = (op: string) => `${base}/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operationResults/${op}`;
    lro = await startStandIn('arm-lro', [
      { method: 'DELETE', path: '/subscriptions/:sub/things/:name', handle: () => ({ status: 202, headers: { location: location('op-1'), 'retry-after': '2' } }) },
      { method: 'DELETE', path: '/subscriptions/:sub/elsewhere/:name', handle: () => ({ status: 202, headers: { location: 'http://127.0.0.1:1@attacker.example/op' } }) },
      {
        method: 'GET',
        path: OPERATION,
        handle: ({ params }) =>
          params.op === 'failing'
            ? { status: 500, body: { error: { code: 'InternalServerError', message: 'the delete failed' } } }
            : pollsLeft-- > 0
              ? { status: 202, headers: { location: location(params.op!), 'retry-after': '3' } }
              : { status: 204 },
      },
    ]);
    base = lro.url;
  });
  afterAll(async () => {
    await arm.close();
    await lro.close();
  });
  beforeEach(() => {
    arm.reset();
    lro.reset();
    slept = [];
  });
  const client = (url: string, o: { maxWaitMs?: number; maxAttempts?: number } = {}) => createArmClient({ endpoint: url, timeoutMs: 2000, sleep: async (ms) => void slept.push(ms), ...o });
  const rule = `${nsgId('edge-nsg')}/securityRules/anything?api-version=2024-07-01`;

  it('retries a gateway error whose body is an HTML page, and names the status when it stays', async () => {
    arm.set({ fail: { count: 1, status: 502, body: GATEWAY_PAGE } });
    expect(await client(arm.url).request('GET', rule)).toMatchObject({ status: 404 });
    expect(arm.requests('GET')).toHaveLength(2);

    arm.set({ fail: { count: 2, status: 503, body: GATEWAY_PAGE } });
    const e = await client(arm.url, { maxAttempts: 2 })
      .request('GET', rule)
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UpstreamError);
    expect(e).toMatchObject({ upstream: 'Azure Resource Manager', status: 503, message: 'Azure Resource Manager answered 503' });
  });

  it('follows Location until it stops answering 202, waiting as Retry-After says', async () => {
    pollsLeft = 2;
    const c = client(lro.url);
    await c.waitFor(await c.request('DELETE', '/subscriptions/s/things/x'), 'deleting x');
    expect(lro.requests('GET', OPERATION)).toHaveLength(3);
    expect(slept).toEqual([2000, 3000, 3000]);
  });

  it('fails when the operation behind Location fails, or outlasts the wait', async () => {
    const c = client(lro.url, { maxAttempts: 1 });
    const failing = { status: 202, headers: new Headers({ location: `${lro.url}/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operationResults/failing` }) };
    await expect(c.waitFor(failing, 'deleting x')).rejects.toMatchObject({ status: 500, message: expect.stringContaining('the delete failed') });

    pollsLeft = 100;
    const impatient = client(lro.url, { maxWaitMs: 0 });
    await expect(impatient.waitFor(await impatient.request('DELETE', '/subscriptions/s/things/x'), 'deleting x')).rejects.toThrow('deleting x still running after 0 s');
  });

  it("follows an operation URL only on ARM's own origin", async () => {
    const c = client(lro.url);
    for (const url of [`${lro.url}@attacker.example/op`, `${lro.url}.attacker.example/op`, `${lro.url}0/op`, 'not a url']) {
      await expect(c.request('GET', url)).rejects.toThrow('refusing to follow an operation URL outside the ARM endpoint');
    }
    await expect(c.waitFor(await c.request('DELETE', '/subscriptions/s/elsewhere/x'), 'deleting x')).rejects.toThrow('refusing to follow');
    expect(lro.requests('GET')).toHaveLength(0);
  });

  it('stops when the run is stopped: the call in flight is aborted, never retried, and reported as stopped, not as a timeout', async () => {
    arm.set({ hang: true });
    const stop = new AbortController();
    const call = client(arm.url)
      .request('GET', rule, { signal: stop.signal })
      .catch((e: unknown) => e);
    await arm.waitFor('GET', rule.split('?')[0]!);
    stop.abort();
    const e = await call;
    expect(e).toBeInstanceOf(RunAborted);
    expect(e).toMatchObject({ message: 'stopped by its caller' });
    expect(arm.requests('GET')).toHaveLength(1);
    expect(slept).toEqual([]);
    // Stopped before it starts: nothing is sent.
    await expect(client(arm.url).request('GET', rule, { signal: stop.signal })).rejects.toBeInstanceOf(RunAborted);
    expect(arm.requests('GET')).toHaveLength(1);
  });

  it('stops waiting on a long-running operation at once, polling no more', async () => {
    pollsLeft = 100;
    // The real sleep: Retry-After asks for 2 s, and the stop must not wait it out.
    const c = createArmClient({ endpoint: lro.url, timeoutMs: 2000 });
    const stop = new AbortController();
    const waiting = c.waitFor(await c.request('DELETE', '/subscriptions/s/things/x'), 'deleting x', stop.signal).catch((e: unknown) => e);
    const started = Date.now();
    stop.abort();
    expect(await waiting).toBeInstanceOf(RunAborted);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lro.requests('GET', OPERATION)).toHaveLength(0);
  });
});
