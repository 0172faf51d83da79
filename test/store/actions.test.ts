import type { Db } from '../../src/store/db';
import { approveAction, claimRunnableActions, getAction, rejectAction, requestAction } from '../../src/store/action-repository';
import { createPgDb } from '../../src/store/pg-db';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const now = new Date('2026-11-24T03:00:00Z');
const later = new Date('2026-11-24T03:30:00Z');

describe.each(storeDrivers())('actions on $name', (driver) => {
  let db: Db;
  /** A second, independent connection pool on PostgreSQL: another Vigil process. */
  let other: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const opened = await driver.open();
    ({ db, drop } = opened);
    other = opened.url ? await createPgDb(opened.url) : db;
  });
  afterAll(async () => {
    if (other !== db) await other.close();
    await drop();
  });
  beforeEach(() => emptyTables(db));

  const request = (approvalsNeeded = 1, expiresAt = later) => requestAction(db, { target: { kind: 'block-ip', ip: '8.8.8.8' }, requestedBy: 'alice', approvalsNeeded, expiresAt });

  it('ten concurrent clicks from two processes approve once and run once', async () => {
    const action = await request(1);
    const clicks = await Promise.all(Array.from({ length: 10 }, (_, i) => approveAction(i % 2 ? other : db, action.id, `approver-${i}`, now)));
    const won = clicks.filter((c) => c !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]!.state).toBe('approved');
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claimRunnableActions(i % 2 ? other : db, 5, 30_000, now)));
    expect(claims.flat().map((a) => a.id)).toEqual([action.id]);
    const audit = await db.query<{ action: string }>(`SELECT action FROM audit WHERE details->>'action' = $1 ORDER BY id`, [action.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['action.requested', 'action.approved']);
  });

  it('needs distinct approvers who are not the requester, before it expires', async () => {
    const action = await request(2);
    expect(await approveAction(db, action.id, 'ALICE', now)).toBeUndefined();
    expect((await approveAction(db, action.id, 'bob', now))?.state).toBe('requested');
    expect(await approveAction(other, action.id, 'Bob', now)).toBeUndefined();
    expect(await claimRunnableActions(db, 5, 30_000, now)).toEqual([]);
    expect((await approveAction(other, action.id, 'carol', now))?.state).toBe('approved');
    expect((await getAction(db, action.id))?.approvals).toEqual(['bob', 'carol']);

    const expired = await request(1, now);
    expect(await approveAction(db, expired.id, 'bob', now)).toBeUndefined();
    const rejected = await request(1);
    expect((await rejectAction(db, rejected.id, 'bob', now))?.state).toBe('rejected');
    expect(await approveAction(db, rejected.id, 'carol', now)).toBeUndefined();
  });

  it('gives an action left running by a dead process to another once its lease runs out', async () => {
    const action = await request(1);
    await approveAction(db, action.id, 'bob', now);
    expect(await claimRunnableActions(db, 5, 30_000, now)).toHaveLength(1);
    expect(await claimRunnableActions(other, 5, 30_000, new Date(now.getTime() + 10_000))).toEqual([]);
    const [again] = await claimRunnableActions(other, 5, 30_000, new Date(now.getTime() + 31_000));
    expect(again).toMatchObject({ id: action.id, state: 'running', attempts: 2 });
  });
});
