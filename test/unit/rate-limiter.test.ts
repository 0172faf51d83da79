import { createRateLimiter } from '../../src/enrichment/rate-limiter';

describe('the per-minute rate limiter', () => {
  it('starts four at once, queues the fifth until the first minute has passed', async () => {
    let now = 0;
    const slept: number[] = [];
    const limiter = createRateLimiter({
      perMinute: 4,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    const started: number[] = [];
    const jobs = Array.from({ length: 6 }, (_, i) =>
      limiter.schedule(async () => {
        started.push(now);
        return i;
      }),
    );
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(started).toEqual([0, 0, 0, 0, 60_000, 60_000]);
    expect(slept).toEqual([60_000]);
  });

  it('keeps going after a job fails', async () => {
    const limiter = createRateLimiter({ perMinute: 10 });
    await expect(limiter.schedule(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.schedule(async () => 'ok')).resolves.toBe('ok');
  });
});
