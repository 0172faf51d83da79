import fc from 'fast-check';
import { startStandIn, type StandIn } from '../../sandbox/stand-in';
import { CallStopped } from '../../src/http/call-stopped';
import { createHttpClient, type HttpClientOptions } from '../../src/http/http-client';
import { DEFAULT_RETRY, retryDelay } from '../../src/http/retry-policy';
import { UpstreamError } from '../../src/http/upstream-error';

const TOKEN = 'secret-token-never-in-errors';

describe('the upstream HTTP client', () => {
  let upstream: StandIn;
  let waits: number[];

  beforeAll(async () => {
    upstream = await startStandIn('example', [
      {
        method: 'GET',
        path: '/things/:id',
        handle: ({ params }) => (params.id === 'known' ? { status: 200, body: { id: 'known' } } : { status: 404, body: { error: { code: 'NotFound', message: 'no such thing' } } }),
      },
      { method: 'PUT', path: '/things/:id', handle: ({ body }) => ({ status: 200, body }) },
      { method: 'GET', path: '/forbidden', handle: () => ({ status: 403, body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization' } } }) },
    ]);
  });
  afterAll(() => upstream.close());
  beforeEach(() => {
    upstream.reset();
    waits = [];
  });

  const client = (o: Partial<HttpClientOptions> = {}) =>
    createHttpClient({ upstream: 'Example', baseUrl: upstream.url, timeoutMs: 2000, token: async () => TOKEN, sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...o });

  it('sends JSON with the bearer token and reads JSON back', async () => {
    const res = await client().request<{ a: number }>({ method: 'PUT', path: '/things/x', body: { a: 1 } });
    expect(res).toMatchObject({ status: 200, body: { a: 1 } });
    const [sent] = upstream.requests('PUT', '/things/:id');
    expect(sent!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent!.headers['content-type']).toBe('application/json');
    expect(sent!.body).toEqual({ a: 1 });
  });

  it('answers 404 as "no such thing" when asked to, and as an error otherwise', async () => {
    await expect(client().json('/things/unknown')).resolves.toBeUndefined();
    await expect(client().json('/things/known')).resolves.toEqual({ id: 'known' });
    await expect(client().request({ path: '/things/unknown' })).rejects.toMatchObject({ status: 404, code: 'NotFound' });
  });

  it('retries 503 with full-jitter backoff and then succeeds', async () => {
    upstream.set({ fail: { count: 2, status: 503 } });
    await expect(client().json('/things/known')).resolves.toEqual({ id: 'known' });
    expect(upstream.requests('GET', '/things/:id')).toHaveLength(3);
    expect(waits).toEqual([125, 250]); // random 0.5 × the ceilings 250 and 500
  });

  it('honours Retry-After over its own backoff', async () => {
    upstream.set({ throttle: { count: 1, retryAfterSeconds: 7 } });
    await expect(client().json('/things/known')).resolves.toEqual({ id: 'known' });
    expect(waits).toEqual([7000]);
  });

  it('gives up on a Retry-After longer than it sleeps in place, handing the wait to the caller', async () => {
    upstream.set({ throttle: { count: 1, retryAfterSeconds: 120 } });
    const e = await client()
      .json('/things/known')
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UpstreamError);
    expect(e).toMatchObject({ upstream: 'Example', status: 429, retryAfterMs: 120_000 });
    expect(upstream.requests('GET', '/things/:id')).toHaveLength(1);
  });

  it('stops after its attempts with a coded error that names the upstream and never the token', async () => {
    upstream.set({ fail: { count: 10, status: 502, body: '<html><body>Bad gateway</body></html>' } });
    const e = (await client()
      .json('/things/known')
      .catch((err: unknown) => err)) as UpstreamError;
    expect(e).toMatchObject({ upstream: 'Example', status: 502 });
    expect(e.message).toBe('Example answered 502');
    expect(upstream.requests('GET', '/things/:id')).toHaveLength(DEFAULT_RETRY.maxAttempts);
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain(TOKEN);
  });

  it('does not retry what a retry cannot fix', async () => {
    const e = await client()
      .json('/forbidden')
      .catch((err: unknown) => err);
    expect(e).toMatchObject({ status: 403, code: 'AuthorizationFailed', message: 'Example answered 403 AuthorizationFailed: The client does not have authorization' });
    expect(upstream.requests('GET', '/forbidden')).toHaveLength(1);
  });

  it('times out each attempt and retries what did not answer', async () => {
    upstream.set({ hang: true });
    const e = await client({ timeoutMs: 50, retry: { maxAttempts: 3 } })
      .json('/things/known')
      .catch((err: unknown) => err);
    expect(e).toMatchObject({ status: 0, timedOut: true, message: 'Example did not answer within 50 ms' });
    expect(upstream.requests('GET', '/things/:id')).toHaveLength(3);
  });

  it('stops at once when the caller gives up, aborting the call in flight and starting no other', async () => {
    upstream.set({ hang: true });
    const stop = new AbortController();
    const call = client({ timeoutMs: 5000 })
      .json('/things/known', { signal: stop.signal })
      .catch((err: unknown) => err);
    await upstream.waitFor('GET', '/things/:id');
    stop.abort();
    expect(await call).toBeInstanceOf(CallStopped);
    expect(upstream.requests('GET', '/things/:id')).toHaveLength(1);
  });

  it('never sends the token to another origin', async () => {
    for (const url of [`${upstream.url}.evil.example/x`, `http://evil.example/${upstream.url}`, 'http://127.0.0.1:1@evil.example/x']) {
      await expect(client().request({ path: url })).rejects.toThrow(/outside its endpoint/);
    }
    expect(upstream.requests()).toHaveLength(0);
  });

  it('retry delays: never past the ceiling or the budget, Retry-After first, unretriable never', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom(0, 400, 404, 429, 500, 503),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 70_000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (attempt, status, retryAfterMs, elapsed, r) => {
          const wait = retryDelay(DEFAULT_RETRY, attempt, new UpstreamError('x', status, 'x', { retryAfterMs }), elapsed, () => r);
          if (wait === undefined) return;
          expect(attempt).toBeLessThan(DEFAULT_RETRY.maxAttempts);
          expect([0, 429, 500, 503]).toContain(status);
          expect(elapsed + wait).toBeLessThanOrEqual(DEFAULT_RETRY.budgetMs);
          if (retryAfterMs !== undefined) expect(wait).toBe(retryAfterMs);
          else expect(wait).toBeLessThan(Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** (attempt - 1)) + 1);
        },
      ),
    );
  });
});
