import type { Db } from '../../src/store/db';
import { createPacer } from '../../src/teams/conversation-pacer';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

describe.each(storeDrivers())('the pacer, kept in the store, on $name', (driver) => {
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

  it("keeps to Teams' 7 per second and 8 per 2 seconds, per conversation", async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const start = now;
    const pacer = createPacer(db, { now: () => now, slackMs: 100 });
    const sent: number[] = [];
    for (let i = 0; i < 7; i++) sent.push(await pacer.tryAcquire('c1'));
    expect(sent).toEqual([0, 0, 0, 0, 0, 0, 0]);
    // The windows carry 100 ms of slack for network jitter.
    expect(await pacer.tryAcquire('c1')).toBe(1100);
    expect(await pacer.tryAcquire('c2')).toBe(0);
    now = start + 1100;
    expect(await pacer.tryAcquire('c1')).toBe(0);
    // Eight in two seconds (plus slack) now: the ninth waits for the first to leave that window.
    expect(await pacer.tryAcquire('c1')).toBe(1000);
    now = start + 2100;
    expect(await pacer.tryAcquire('c1')).toBe(0);
  });

  it('enforces the hourly budget, and a channel thread counts as its channel', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const start = now;
    const pacer = createPacer(db, { conversation: [{ max: 3, windowMs: 3_600_000 }], now: () => now, slackMs: 0 });
    for (let i = 0; i < 2; i++) expect(await pacer.tryAcquire('c')).toBe(0);
    expect(await pacer.tryAcquire('c;messageid=1:abc')).toBe(0);
    now = start + 600_000;
    expect(await pacer.tryAcquire('c')).toBe(3_000_000);
  });

  it("shares one count between pacers (replicas, restarts), and keeps the tenant's rate", async () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    const a = createPacer(db, { tenant: [{ max: 10, windowMs: 1000 }], now: () => now, slackMs: 0 });
    const b = createPacer(db, { tenant: [{ max: 10, windowMs: 1000 }], now: () => now, slackMs: 0 });
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).tryAcquire('shared', 't1')));
    expect(first.filter((w) => w === 0)).toHaveLength(7);
    // Three conversations more of the same tenant: the tenant's 10 a second is full after three.
    const others = [];
    for (const c of ['x', 'y', 'z', 'w']) others.push(await a.tryAcquire(c, 't1'));
    expect(others).toEqual([0, 0, 0, 1000]);
    expect(await b.tryAcquire('v', 't2')).toBe(0);
  });
});
