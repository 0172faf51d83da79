import { Writable } from 'node:stream';
import { UpstreamError } from '../../src/http/upstream-error';
import { createJobRunner, FinalJobError } from '../../src/jobs/job-runner';
import { createLogger } from '../../src/logger';
import { createMetrics } from '../../src/metrics';
import type { Db } from '../../src/store/db';
import { claimJobs, completeJob, countJobs, deadLetterJob, enqueueJob, listDeadJobs, pruneJobs, retryJobLater } from '../../src/store/job-queue';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = () => createLogger('error', new Writable({ write: (_c, _e, done) => done() }));
const state = async (db: Db, key: string) =>
  (await db.query<{ state: string; attempts: number; last_error: string | null }>('SELECT state, attempts, last_error FROM jobs WHERE key = $1', [key])).rows[0];

describe.each(storeDrivers())('the job queue on $name', (driver) => {
  let db: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await drop();
  });
  beforeEach(async () => {
    await emptyTables(db);
  });

  it('keeps one job per key, and the change and its job commit or roll back together', async () => {
    await enqueueJob(db, { kind: 'comment', key: 'comment:a', payload: { n: 1 } });
    await enqueueJob(db, { kind: 'comment', key: 'comment:a', payload: { n: 2 } });
    await expect(
      db.transaction(async (tx) => {
        await enqueueJob(tx, { kind: 'comment', key: 'comment:b', payload: {} });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const jobs = await claimJobs(db, ['comment'], 10, 60_000);
    expect(jobs.map((j) => [j.key, j.payload])).toEqual([['comment:a', { n: 1 }]]);
  });

  it('gives a job to one claimer at a time, and to another once the lease has run out', async () => {
    await enqueueJob(db, { kind: 'label', key: 'label:a', payload: {} });
    const [first] = await claimJobs(db, ['label'], 10, 100);
    expect(first).toMatchObject({ attempts: 1, takenOver: false });
    expect(await claimJobs(db, ['label'], 10, 60_000)).toEqual([]);
    await sleep(200);
    const [second] = await claimJobs(db, ['label'], 10, 60_000);
    expect(second).toMatchObject({ key: 'label:a', attempts: 2, takenOver: true });
    // The first claim's late answer no longer counts: the job is the second's.
    expect(await completeJob(db, first!)).toBe(false);
    expect(await completeJob(db, second!)).toBe(true);
    expect(await state(db, 'label:a')).toMatchObject({ state: 'done' });
  });

  it('claims only due jobs of the kinds asked for, and never one twice when claims race', async () => {
    for (let i = 0; i < 20; i++) await enqueueJob(db, { kind: 'redraw', key: `redraw:${i}`, payload: {} });
    await enqueueJob(db, { kind: 'other', key: 'other:1', payload: {} });
    await enqueueJob(db, { kind: 'redraw', key: 'redraw:later', payload: {}, delayMs: 60_000 });
    const claims = await Promise.all([0, 1, 2, 3].map(() => claimJobs(db, ['redraw'], 10, 60_000)));
    const keys = claims.flat().map((j) => j.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `redraw:${i}`).sort());
  });

  it('puts a failed job back with its error, and dead-letters with the reason', async () => {
    await enqueueJob(db, { kind: 'comment', key: 'comment:x', payload: {} });
    const [job] = await claimJobs(db, ['comment'], 1, 60_000);
    await retryJobLater(db, job!, 0, 'Sentinel answered 503');
    expect(await state(db, 'comment:x')).toEqual({ state: 'queued', attempts: 1, last_error: 'Sentinel answered 503' });
    const [again] = await claimJobs(db, ['comment'], 1, 60_000);
    await deadLetterJob(db, again!, 'Sentinel answered 404: the incident is gone');
    expect(await listDeadJobs(db)).toMatchObject([{ kind: 'comment', key: 'comment:x', attempts: 2, lastError: 'Sentinel answered 404: the incident is gone' }]);
    expect(await countJobs(db)).toEqual([{ kind: 'comment', state: 'dead', count: 1 }]);
  });

  it('runs a redraw asked for again while it ran once more, with the newer payload', async () => {
    await enqueueJob(db, { kind: 'redraw', key: 'redraw:a', payload: { v: 1 }, again: true });
    const [running] = await claimJobs(db, ['redraw'], 1, 60_000);
    await enqueueJob(db, { kind: 'redraw', key: 'redraw:a', payload: { v: 2 }, again: true });
    expect(await completeJob(db, running!)).toBe(true);
    const [next] = await claimJobs(db, ['redraw'], 1, 60_000);
    expect(next?.payload).toEqual({ v: 2 });
    await completeJob(db, next!);
    await enqueueJob(db, { kind: 'redraw', key: 'redraw:a', payload: { v: 3 }, again: true });
    expect((await claimJobs(db, ['redraw'], 1, 60_000))[0]).toMatchObject({ payload: { v: 3 }, attempts: 1 });
  });

  it('forgets done jobs after their time and dead letters after theirs, never a queued one', async () => {
    for (const key of ['done:1', 'dead:1', 'queued:1']) await enqueueJob(db, { kind: 'k', key, payload: {} });
    const jobs = await claimJobs(db, ['k'], 3, 60_000);
    await completeJob(
      db,
      jobs.find((j) => j.key === 'done:1')!,
    );
    await deadLetterJob(
      db,
      jobs.find((j) => j.key === 'dead:1')!,
      'gone',
    );
    await db.query("UPDATE jobs SET finished_at = now() - interval '2 days' WHERE finished_at IS NOT NULL");
    expect(await pruneJobs(db, { doneMs: 86_400_000, deadMs: 7 * 86_400_000 })).toBe(1);
    expect((await db.query<{ key: string }>('SELECT key FROM jobs ORDER BY key')).rows.map((r) => r.key)).toEqual(['dead:1', 'queued:1']);
    expect(await pruneJobs(db, { doneMs: 86_400_000, deadMs: 86_400_000 })).toBe(1);
    expect((await db.query<{ key: string }>('SELECT key FROM jobs')).rows.map((r) => r.key)).toEqual(['queued:1']);
  });

  it('runner: retries a throttled job after its Retry-After, dead-letters a final failure, counts both in /metrics', async () => {
    const metrics = createMetrics();
    metrics.readJobCountsFrom(() => countJobs(db));
    const calls: string[] = [];
    let throttled = 2;
    const runner = createJobRunner({
      db,
      logger: quiet(),
      metrics,
      pollMs: 20,
      baseBackoffMs: 10,
      handlers: {
        async comment(job) {
          calls.push(job.key);
          if (throttled-- > 0) throw new UpstreamError('Microsoft Sentinel', 429, 'throttled', { retryAfterMs: 30 });
        },
        async label() {
          throw new FinalJobError('the incident is gone');
        },
      },
    });
    await enqueueJob(db, { kind: 'comment', key: 'comment:1', payload: {} });
    await enqueueJob(db, { kind: 'label', key: 'label:1', payload: {} });
    runner.start();
    await runner.idle();
    await runner.stop();
    expect(calls).toEqual(['comment:1', 'comment:1', 'comment:1']);
    expect(await state(db, 'comment:1')).toMatchObject({ state: 'done', attempts: 3 });
    expect(await state(db, 'label:1')).toEqual({ state: 'dead', attempts: 1, last_error: 'the incident is gone' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('vigil_jobs{kind="label",state="dead"} 1');
    expect(text).toContain('vigil_jobs_run_total{kind="comment",outcome="retry"} 2');
    expect(text).toContain('vigil_jobs_run_total{kind="label",outcome="dead"} 1');
  });

  it('runner: gives up after the most attempts allowed', async () => {
    const runner = createJobRunner({
      db,
      logger: quiet(),
      pollMs: 10,
      baseBackoffMs: 1,
      maxAttempts: 3,
      handlers: {
        async page() {
          throw new UpstreamError('PagerDuty', 503, 'unavailable');
        },
      },
    });
    await enqueueJob(db, { kind: 'page', key: 'page:1', payload: {} });
    runner.start();
    await runner.idle();
    await runner.stop();
    expect(await state(db, 'page:1')).toEqual({ state: 'dead', attempts: 3, last_error: 'unavailable' });
  });
});
