import type { Db } from '../../src/store/db';
import { advanceIngestCursor, claimIngestCursor, getIngestCursor, releaseIngestCursor } from '../../src/store/ingest-cursor-repository';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOUR = 3_600_000;

describe.each(storeDrivers())('ingest cursor on $name', (driver) => {
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

  it('starts the lookback before the first claim, and keeps that start for later claims', async () => {
    const first = await claimIngestCursor(db, 'si', 'a', 60_000, HOUR);
    expect(Math.abs(first!.position.getTime() - (Date.now() - HOUR))).toBeLessThan(5_000);
    const again = await claimIngestCursor(db, 'si', 'a', 60_000, 0);
    expect(again!.position).toEqual(first!.position);
  });

  it('lets one owner poll at a time: another waits for a release or for the lease to run out', async () => {
    expect(await claimIngestCursor(db, 'si', 'a', 60_000, HOUR)).toBeDefined();
    expect(await claimIngestCursor(db, 'si', 'b', 60_000, HOUR)).toBeUndefined();
    expect(await claimIngestCursor(db, 'si', 'a', 60_000, HOUR)).toBeDefined();
    await releaseIngestCursor(db, 'si', 'b');
    expect(await claimIngestCursor(db, 'si', 'b', 60_000, HOUR)).toBeUndefined();
    await releaseIngestCursor(db, 'si', 'a');
    expect(await claimIngestCursor(db, 'si', 'b', 100, HOUR)).toBeDefined();
    await sleep(150);
    expect(await claimIngestCursor(db, 'si', 'a', 60_000, HOUR)).toBeDefined();
    expect((await getIngestCursor(db, 'si'))?.leaseOwner).toBe('a');
  });

  it('moves only forward, and only for the lease holder', async () => {
    const { position } = (await claimIngestCursor(db, 'si', 'a', 100, HOUR))!;
    const later = new Date(position.getTime() + 60_000);
    expect(await advanceIngestCursor(db, 'si', 'a', later, 100)).toBe(true);
    expect(await advanceIngestCursor(db, 'si', 'a', position, 100)).toBe(true);
    expect((await getIngestCursor(db, 'si'))?.position).toEqual(later);
    await sleep(150);
    await claimIngestCursor(db, 'si', 'b', 60_000, HOUR);
    // A holder that stalled past its lease cannot write over the new holder's progress.
    expect(await advanceIngestCursor(db, 'si', 'a', new Date(later.getTime() + 60_000), 100)).toBe(false);
    expect((await getIngestCursor(db, 'si'))?.position).toEqual(later);
  });
});
