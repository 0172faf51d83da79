import type { Db } from '../../src/store/db';
import {
  approveAction,
  claimRunnableActions,
  closeRequest,
  expireRequests,
  extendLease,
  failAbandonedActions,
  finishAction,
  getAction,
  listAttempts,
  requestAction,
  retryActionAt,
  type StoredAction,
} from '../../src/store/action-repository';
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

  let n = 0;
  const request = async (approvalsNeeded = 1, expiresAt = later): Promise<StoredAction> => {
    n += 1;
    const r = await requestAction(db, { target: { kind: 'block-ip', ip: `8.8.8.${n}` }, requestedBy: 'alice', approvalsNeeded, expiresAt }, { now });
    if (r.kind === 'over-limit') throw new Error('over the limit');
    return r.action;
  };

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
    expect((await closeRequest(db, rejected.id, { state: 'rejected', by: 'bob', now }))?.state).toBe('rejected');
    expect(await approveAction(db, rejected.id, 'carol', now)).toBeUndefined();
  });

  it('one open request per target: a double click or a second process gets the same request back', async () => {
    const target = { kind: 'block-ip' as const, ip: '192.0.2.9' };
    const asks = await Promise.all(
      Array.from({ length: 6 }, (_, i) => requestAction(i % 2 ? other : db, { incidentKey: undefined, target, requestedBy: `analyst-${i}`, approvalsNeeded: 1, expiresAt: later }, { now })),
    );
    const ids = new Set(asks.map((a) => (a.kind === 'over-limit' ? 'none' : a.action.id)));
    expect(ids.size).toBe(1);
    expect(asks.filter((a) => a.kind === 'created')).toHaveLength(1);
    const [only] = [...ids];
    await closeRequest(db, only!, { state: 'cancelled', by: 'analyst-0', now });
    const again = await requestAction(db, { target, requestedBy: 'analyst-1', approvalsNeeded: 1, expiresAt: later }, { now });
    expect(again.kind).toBe('created');
  });

  it('refuses past the hourly brake, counting only requests that still stand', async () => {
    for (let i = 0; i < 3; i++) await requestAction(db, { target: { kind: 'block-ip', ip: `192.0.2.${i + 20}` }, requestedBy: 'alice', approvalsNeeded: 1, expiresAt: later }, { now, maxPerHour: 3 });
    const over = await requestAction(db, { target: { kind: 'block-ip', ip: '192.0.2.30' }, requestedBy: 'alice', approvalsNeeded: 1, expiresAt: later }, { now, maxPerHour: 3 });
    expect(over).toEqual({ kind: 'over-limit', count: 3 });
  });

  it('expires requests nobody decided on, once, with an audit row', async () => {
    const a = await request(1, new Date(now.getTime() + 60_000));
    expect(await expireRequests(db, now)).toEqual([]);
    const expired = await expireRequests(other, new Date(now.getTime() + 61_000));
    expect(expired.map((x) => [x.id, x.state])).toEqual([[a.id, 'expired']]);
    expect(await expireRequests(db, new Date(now.getTime() + 62_000))).toEqual([]);
    expect(await approveAction(db, a.id, 'bob', now)).toBeUndefined();
    const audit = await db.query<{ action: string }>(`SELECT action FROM audit WHERE details->>'action' = $1 ORDER BY id`, [a.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['action.requested', 'action.expired']);
  });

  it('gives an action left running by a dead process to another once its lease runs out', async () => {
    const action = await request(1);
    await approveAction(db, action.id, 'bob', now);
    expect(await claimRunnableActions(db, 5, 30_000, now)).toHaveLength(1);
    expect(await claimRunnableActions(other, 5, 30_000, new Date(now.getTime() + 10_000))).toEqual([]);
    const [again] = await claimRunnableActions(other, 5, 30_000, new Date(now.getTime() + 31_000));
    expect(again).toMatchObject({ id: action.id, state: 'running', attempts: 2 });
  });

  const attempt = (at: Date, outcome: 'succeeded' | 'retrying' = 'succeeded') => ({ started: at, ended: at, outcome, detail: {} });
  const seconds = (s: number) => new Date(now.getTime() + s * 1000);

  it('fences out the process whose lease ran out: its late finish, retry and renewal change nothing, its attempt is still on record', async () => {
    const action = await request(1);
    await approveAction(db, action.id, 'bob', now);
    const [stale] = await claimRunnableActions(db, 5, 30_000, now);
    const [fresh] = await claimRunnableActions(other, 5, 30_000, seconds(31));
    expect(fresh).toMatchObject({ id: action.id, attempts: 2 });
    expect(await extendLease(db, stale!, 30_000, seconds(32))).toBe(false);
    expect(await retryActionAt(db, stale!, attempt(seconds(33), 'retrying'), seconds(40))).toBe(false);
    expect(await finishAction(db, stale!, attempt(seconds(34)), { state: 'succeeded', result: {} })).toBeUndefined();
    expect(await getAction(db, action.id)).toMatchObject({ state: 'running', attempts: 2 });
    expect(await extendLease(other, fresh!, 30_000, seconds(35))).toBe(true);
    expect((await finishAction(other, fresh!, attempt(seconds(36)), { state: 'succeeded', result: { ok: true } }))?.state).toBe('succeeded');
    expect((await listAttempts(db, action.id)).map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'abandoned'],
      [1, 'retrying'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    const audit = await db.query<{ action: string }>(`SELECT action FROM audit WHERE details->>'action' = $1 ORDER BY id`, [action.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['action.requested', 'action.approved', 'action.attempt-abandoned', 'action.succeeded']);
  });

  it('stops reclaiming an action whose every attempt died with its process, and fails it with the reason', async () => {
    const action = await request(1);
    await approveAction(db, action.id, 'bob', now);
    expect(await claimRunnableActions(db, 5, 30_000, now, 2)).toHaveLength(1);
    expect(await claimRunnableActions(other, 5, 30_000, seconds(31), 2)).toHaveLength(1);
    expect(await claimRunnableActions(db, 5, 30_000, seconds(62), 2)).toEqual([]);
    expect(await failAbandonedActions(db, seconds(20), 2)).toEqual([]);
    const [failed] = await failAbandonedActions(other, seconds(62), 2);
    expect(failed).toMatchObject({ id: action.id, state: 'failed', result: { error: expect.stringMatching(/gave up after 2 attempts: the process running it stopped/) } });
    expect(await failAbandonedActions(db, seconds(63), 2)).toEqual([]);
    expect((await listAttempts(db, action.id)).map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'abandoned'],
      [2, 'abandoned'],
    ]);
  });

  it('one Undo per action: two at once give one request, and a done Undo is not asked for again', async () => {
    const ip = '192.0.2.77';
    const blocked = await requestAction(db, { target: { kind: 'block-ip', ip }, requestedBy: 'alice', approvalsNeeded: 0, expiresAt: later }, { now });
    const [run] = await claimRunnableActions(db, 5, 30_000, now);
    await finishAction(db, run!, attempt(now), { state: 'succeeded', result: {} });
    const undo = (by: string, on: Db) =>
      requestAction(on, { target: { kind: 'block-ip', ip }, undoOf: blocked.kind === 'created' ? blocked.action.id : '', requestedBy: by, approvalsNeeded: 0, expiresAt: later }, { now });
    const asks = await Promise.all([undo('bob', db), undo('carol', other), undo('dave', db)]);
    expect(asks.map((a) => a.kind).sort()).toEqual(['created', 'existing', 'existing']);
    const [undoRun] = await claimRunnableActions(other, 5, 30_000, now);
    await finishAction(other, undoRun!, attempt(now), { state: 'succeeded', result: {} });
    const again = await undo('erin', db);
    expect(again).toMatchObject({ kind: 'existing', action: { id: undoRun!.id, state: 'succeeded' } });
  });
});
