import type { TokenCredential } from '@azure/identity';
import { startDefender } from '../../sandbox/defender';
import { createDefenderClient } from '../../src/actions/executors/defender-client';
import { createHashBlocker } from '../../src/actions/executors/mde-indicator';

const SHA256 = '8F0E7A0B6C3F1D2E4A5B6C7D8E9F00112233445566778899AABBCCDDEEFF0011';
const SHA1 = '220e7d15b011d7fac48f2bd61114db1022197f7f';

describe('Block file hash with a Defender for Endpoint indicator', () => {
  let mde: Awaited<ReturnType<typeof startDefender>>;
  beforeAll(async () => {
    mde = await startDefender();
  });
  afterAll(() => mde.close());
  beforeEach(() => {
    mde.reset();
    slept = [];
  });
  let slept: number[] = [];
  const client = (o: { timeoutMs?: number; credential?: TokenCredential } = {}) =>
    createDefenderClient({ endpoint: mde.url, timeoutMs: o.timeoutMs ?? 2000, credential: o.credential, sleep: async (ms) => void slept.push(ms), random: () => 0.5 });
  const blocker = (o: { timeoutMs?: number } = {}) => createHashBlocker({ defender: client(o) });
  const details = { title: 'Vigil: incident 42', description: 'Dropped by the phishing mail in incident 42' };

  it('submits BlockAndRemediate with the fields Defender expects; a repeat updates the same indicator', async () => {
    const r = await blocker().block(SHA256, 'SHA256', { ...details, expiresAt: new Date('2026-12-31T00:00:00Z') });
    expect(mde.requests('POST', '/api/indicators').map((q) => q.body)).toEqual([
      {
        indicatorValue: SHA256.toLowerCase(),
        indicatorType: 'FileSha256',
        action: 'BlockAndRemediate',
        title: details.title,
        description: details.description,
        severity: 'High',
        generateAlert: true,
        recommendedActions: expect.any(String),
        expirationTime: '2026-12-31T00:00:00.000Z',
      },
    ]);
    expect(r).toEqual({ indicatorId: mde.indicators[0]!.id });
    expect(r.indicatorId).toMatch(/^\d+$/);

    expect(await blocker().block(SHA256.toLowerCase(), 'SHA256', details)).toEqual(r);
    expect(mde.indicators).toHaveLength(1);
    expect(mde.indicators[0]!.expirationTime).toBeNull();

    const sha1 = await blocker().block(SHA1, 'SHA1', details);
    expect(sha1.indicatorId).not.toBe(r.indicatorId);
    expect(mde.requests('POST', '/api/indicators')[2]!.body).toMatchObject({ indicatorType: 'FileSha1', indicatorValue: SHA1 });
    expect(mde.requests('POST', '/api/indicators')[2]!.body).not.toHaveProperty('expirationTime');
    const list = (await (await fetch(`${mde.url}/api/indicators`)).json()) as { value: Array<{ id: string }> };
    expect(list.value.map((i) => i.id)).toEqual([r.indicatorId, sha1.indicatorId]);
  });

  it('refuses a hash that does not fit its algorithm before calling Defender', async () => {
    await expect(blocker().block(SHA1, 'SHA256', details)).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('is not a SHA256 hash') });
    await expect(blocker().block(`${SHA1.slice(0, 39)}z`, 'SHA1', details)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(mde.requests()).toHaveLength(0);
  });

  it('unblock deletes the indicator, and says so when it was already gone', async () => {
    const { indicatorId } = await blocker().block(SHA256, 'SHA256', details);
    expect(await blocker().unblock(indicatorId)).toEqual({ removed: true });
    expect(mde.indicators).toHaveLength(0);
    expect(await blocker().unblock(indicatorId)).toEqual({ removed: false });
    expect(mde.requests('DELETE', '/api/indicators/:id').map((q) => q.path)).toEqual(Array(2).fill(`/api/indicators/${indicatorId}`));
    await expect(blocker().unblock('1/../../machines')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it("sends the Defender token, names Defender's error code, and never repeats the token", async () => {
    const scopes: unknown[] = [];
    const credential: TokenCredential = { getToken: async (scope) => (scopes.push(scope), { token: 'sandbox-bearer-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const wrongCase = client({ credential }).request('POST', '/api/indicators', { IndicatorValue: SHA1, indicatorType: 'FileSha1', action: 'Block', title: 't', description: 'd' });
    await expect(wrongCase).rejects.toMatchObject({
      name: 'UpstreamError',
      upstream: 'Defender for Endpoint',
      status: 400,
      message: 'Defender for Endpoint answered 400 InvalidRequestBody: Request body is incorrect',
    });
    await expect(wrongCase).rejects.not.toMatchObject({ message: expect.stringContaining('sandbox-bearer-token') });
    expect(mde.requests('POST', '/api/indicators')[0]!.headers.authorization).toBe('Bearer sandbox-bearer-token');
    // The scope follows the configured endpoint (here the sandbox's own origin), as for Graph.
    expect(scopes).toEqual([`${new URL(mde.url).origin}/.default`]);

    for (const path of ['https://attacker.example/api/indicators', '/api/../oauth2/token', '/api/%2E%2e/oauth2/token', '/indicators']) {
      await expect(client().request('GET', path)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(mde.requests()).toHaveLength(1);
  });

  it('waits as Retry-After says, backs off after a 5xx, and gives up with the wait Defender asked for', async () => {
    mde.set({ throttle: { count: 1, retryAfterSeconds: 5 }, fail: { count: 1, status: 503 } });
    await blocker().block(SHA256, 'SHA256', details);
    expect(slept).toEqual([5000, 250]); // Retry-After, then half the second backoff ceiling (full jitter, pinned)
    expect(mde.indicators).toHaveLength(1);

    slept = [];
    mde.set({ throttle: { count: 10, retryAfterSeconds: 7 } });
    await expect(blocker().unblock(mde.indicators[0]!.id)).rejects.toMatchObject({ status: 429, retryAfterMs: 7000, message: expect.stringContaining('429 TooManyRequests') });
    expect(slept).toEqual([7000, 7000, 7000]);
  });

  it('reports a Defender that never answers as a timeout (status 0)', async () => {
    mde.set({ hang: true });
    await expect(blocker({ timeoutMs: 50 }).block(SHA256, 'SHA256', details)).rejects.toMatchObject({ status: 0, message: 'Defender for Endpoint did not answer within 50 ms' });
    expect(mde.requests('POST', '/api/indicators')).toHaveLength(4);
  });
});
