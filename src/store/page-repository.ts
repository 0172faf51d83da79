import { audit } from './audit-repository';
import type { Db, Queryable } from './db';
import { claimDueSends, retrySendLater } from './send-slot';

export type PageState = 'open' | 'acknowledged' | 'resolved';
export type NoticeChannel = 'teams' | 'mention' | 'pagerduty' | 'webhook';

export interface Page {
  id: number;
  incidentKey: string;
  state: PageState;
  level: number;
  nextAt?: Date;
  reason: string;
  version: number;
  ackedBy?: string;
  ackedAt?: Date;
  resolvedAt?: Date;
  createdAt: Date;
}

export interface Notice {
  id: number;
  pageId: number;
  level: number;
  channel: NoticeChannel;
  target: string;
  conversationId?: string;
  activityId?: string;
  version: number;
  attempts: number;
}

interface PageRow {
  id: number;
  incident_key: string;
  state: PageState;
  level: number;
  next_at: Date | null;
  reason: string;
  version: number;
  acked_by: string | null;
  acked_at: Date | null;
  resolved_at: Date | null;
  created_at: Date;
}

const toPage = (r: PageRow): Page => ({
  id: Number(r.id),
  incidentKey: r.incident_key,
  state: r.state,
  level: r.level,
  nextAt: r.next_at ? new Date(r.next_at) : undefined,
  reason: r.reason,
  version: r.version,
  ackedBy: r.acked_by ?? undefined,
  ackedAt: r.acked_at ? new Date(r.acked_at) : undefined,
  resolvedAt: r.resolved_at ? new Date(r.resolved_at) : undefined,
  createdAt: new Date(r.created_at),
});

/**
 * Opens the incident's page, due at once. At most one page per incident, ever: a replay, a later
 * enrichment or a second process gets `undefined`.
 */
export async function openPage(db: Db, incidentKey: string, reason: string, actor: string, now: Date): Promise<Page | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<PageRow>(
      `INSERT INTO pages (incident_key, state, level, next_at, reason, created_at) VALUES ($1, 'open', 0, $2, $3, $2)
       ON CONFLICT (incident_key) DO NOTHING RETURNING *`,
      [incidentKey, now, reason],
    );
    const row = r.rows[0];
    if (row) await audit(tx, actor, 'page.opened', incidentKey, { reason });
    return row ? toPage(row) : undefined;
  });
}

export async function getPage(db: Queryable, incidentKey: string): Promise<Page | undefined> {
  const r = await db.query<PageRow>('SELECT * FROM pages WHERE incident_key = $1', [incidentKey]);
  return r.rows[0] ? toPage(r.rows[0]) : undefined;
}

export async function getPageById(db: Queryable, id: number): Promise<Page | undefined> {
  const r = await db.query<PageRow>('SELECT * FROM pages WHERE id = $1', [id]);
  return r.rows[0] ? toPage(r.rows[0]) : undefined;
}

/**
 * Runs `step` for each page whose escalation is due, each in its own transaction holding the
 * page's row lock (`SKIP LOCKED`): two processes never escalate the same page at once, and a
 * step's notices and the page's new level commit together or not at all.
 */
export async function escalateDuePages(db: Db, now: Date, step: (tx: Queryable, page: Page) => Promise<void>, limit = 20): Promise<number> {
  let done = 0;
  for (; done < limit; done++) {
    const stepped = await db.transaction(async (tx) => {
      const r = await tx.query<PageRow>(`SELECT * FROM pages WHERE state = 'open' AND next_at <= $1 ORDER BY next_at LIMIT 1 FOR UPDATE SKIP LOCKED`, [now]);
      const row = r.rows[0];
      if (!row) return false;
      await step(tx, toPage(row));
      return true;
    });
    if (!stepped) break;
  }
  return done;
}

/** Moves a page to `level`, due again at `nextAt` (none after the last level), and refreshes its notices. */
export async function advancePage(tx: Queryable, page: Page, level: number, nextAt: Date | undefined): Promise<void> {
  await tx.query('UPDATE pages SET level = $2, next_at = $3, version = version + 1 WHERE id = $1', [page.id, level, nextAt ?? null]);
  // Only the cards show who else was paged; PagerDuty and the webhook hear of state changes.
  await tx.query(`UPDATE page_notices SET desired_version = desired_version + 1 WHERE page_id = $1 AND channel = 'teams'`, [page.id]);
}

/** The incident changed (enrichment arrived): its page cards are drawn again. */
export async function refreshPageCards(db: Queryable, incidentKey: string): Promise<number> {
  const r = await db.query(
    `UPDATE page_notices SET desired_version = desired_version + 1
     WHERE channel = 'teams' AND page_id IN (SELECT id FROM pages WHERE incident_key = $1)`,
    [incidentKey],
  );
  return r.rowCount;
}

/** Adds a notice (a card, a mention, an event) to deliver; an existing one is left as it is. */
export async function addNotice(tx: Queryable, pageId: number, level: number, channel: NoticeChannel, target: string): Promise<void> {
  await tx.query(
    `INSERT INTO page_notices (page_id, level, channel, target, desired_version)
     SELECT $1, $2, $3, $4, 1 ON CONFLICT (page_id, level, channel, target) DO NOTHING`,
    [pageId, level, channel, target],
  );
}

/**
 * Acknowledges the incident's open page. Returns the page as it now is, and whether this call
 * acknowledged it (false: someone else already had, or it was resolved).
 */
export async function acknowledgePage(db: Db, incidentKey: string, by: string, now: Date): Promise<{ page?: Page; acknowledged: boolean }> {
  return db.transaction(async (tx) => {
    const r = await tx.query<PageRow>(
      `UPDATE pages SET state = 'acknowledged', acked_by = $2, acked_at = $3, next_at = NULL, version = version + 1
       WHERE incident_key = $1 AND state = 'open' RETURNING *`,
      [incidentKey, by, now],
    );
    if (r.rows[0]) {
      await tx.query(`UPDATE page_notices SET desired_version = desired_version + 1 WHERE page_id = $1 AND channel <> 'mention'`, [r.rows[0].id]);
      await audit(tx, by, 'page.acknowledged', incidentKey, { level: r.rows[0].level });
      return { page: toPage(r.rows[0]), acknowledged: true };
    }
    return { page: await getPage(tx, incidentKey), acknowledged: false };
  });
}

/**
 * Moves an open page's next escalation to `at`: later for a snooze, now to hand it to the next
 * level (reassign), audited with who did it. Undefined when the page is no longer open.
 */
export async function reschedulePage(db: Db, pageId: number, at: Date, actor: string, action: 'page.snoozed' | 'page.reassigned', details: Record<string, unknown>): Promise<Page | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<PageRow>(`UPDATE pages SET next_at = $2, version = version + 1 WHERE id = $1 AND state = 'open' RETURNING *`, [pageId, at]);
    const row = r.rows[0];
    if (!row) return undefined;
    // The page's cards say when it escalates next.
    await tx.query(`UPDATE page_notices SET desired_version = desired_version + 1 WHERE page_id = $1 AND channel = 'teams'`, [row.id]);
    await audit(tx, actor, action, row.incident_key, { level: row.level, ...details });
    return toPage(row);
  });
}

/**
 * Hands an open page to a named person now (Reassign on the page card, `page reassign`): they are
 * paged at `level` (a 1:1 card and a mention in the thread), the escalation waits `nextAt` for
 * them, and every card of the page is redrawn to say so; audited with who did it. One transaction
 * under the page's row lock, so it cannot cross an escalation step. Undefined when the page is no longer open.
 */
export async function reassignPage(db: Db, pageId: number, to: string, actor: string, plan: (page: Page) => { level: number; nextAt: Date }): Promise<Page | undefined> {
  return db.transaction(async (tx) => {
    const locked = await tx.query<PageRow>(`SELECT * FROM pages WHERE id = $1 AND state = 'open' FOR UPDATE`, [pageId]);
    if (!locked.rows[0]) return undefined;
    const page = toPage(locked.rows[0]);
    const { level, nextAt } = plan(page);
    await addNotice(tx, page.id, level, 'teams', to);
    await addNotice(tx, page.id, level, 'mention', to);
    const r = await tx.query<PageRow>('UPDATE pages SET level = $2, next_at = $3, version = version + 1 WHERE id = $1 RETURNING *', [page.id, level, nextAt]);
    await tx.query(`UPDATE page_notices SET desired_version = desired_version + 1 WHERE page_id = $1 AND channel = 'teams'`, [page.id]);
    await audit(tx, actor, 'page.reassigned', page.incidentKey, { level, to });
    return toPage(r.rows[0]!);
  });
}

/** The page's last reassignment since it (re)opened, as the audit trail holds it: by whom, to whom (an id, "next level", or PagerDuty's names). */
export async function lastReassignmentOf(db: Queryable, incidentKey: string): Promise<{ by: string; to: string | string[]; via?: string } | undefined> {
  const r = await db.query<{ actor: string; details: { to?: string | string[]; via?: string } }>(
    `SELECT actor, details FROM audit WHERE target = $1 AND action = 'page.reassigned'
       AND id > COALESCE((SELECT max(id) FROM audit WHERE target = $1 AND action IN ('page.opened', 'page.reopened')), 0)
     ORDER BY id DESC LIMIT 1`,
    [incidentKey],
  );
  const row = r.rows[0];
  return row?.details.to === undefined ? undefined : { by: row.actor, to: row.details.to, via: row.details.via };
}

/** Why a page was resolved: the incident was closed (so a reopen pages again), or in PagerDuty. */
export type PageResolution = { because: 'closed'; by?: undefined } | { because: 'pagerduty'; by: string };

/** The incident was closed (or the page resolved in PagerDuty): its page (open or acknowledged) is resolved everywhere. */
export async function resolvePage(db: Db, incidentKey: string, now: Date, why: PageResolution = { because: 'closed' }): Promise<Page | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<PageRow>(
      `UPDATE pages SET state = 'resolved', resolved_at = $2, next_at = NULL, version = version + 1
       WHERE incident_key = $1 AND state <> 'resolved' RETURNING *`,
      [incidentKey, now],
    );
    if (!r.rows[0]) return undefined;
    await tx.query(`UPDATE page_notices SET desired_version = desired_version + 1 WHERE page_id = $1 AND channel <> 'mention'`, [r.rows[0].id]);
    await audit(tx, why.by ?? 'sentinel', 'page.resolved', incidentKey, { because: why.because });
    return toPage(r.rows[0]);
  });
}

/** Why the incident's page was last resolved, and by whom in PagerDuty, from the audit trail (pages resolved before it said why: closed). */
export async function lastResolution(db: Queryable, incidentKey: string): Promise<PageResolution | undefined> {
  const r = await db.query<{ because: string | null; actor: string }>(
    `SELECT details->>'because' AS because, actor FROM audit WHERE action = 'page.resolved' AND target = $1 ORDER BY id DESC LIMIT 1`,
    [incidentKey],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return row.because === 'pagerduty' ? { because: 'pagerduty', by: row.actor } : { because: 'closed' };
}

/** Why the incident's page was last resolved (see `lastResolution`). */
export async function lastResolutionOf(db: Queryable, incidentKey: string): Promise<PageResolution['because'] | undefined> {
  return (await lastResolution(db, incidentKey))?.because;
}

/**
 * Pages again for an incident whose page was resolved (it was reopened, or its severity rose):
 * the same page row, open from level 0 with the new reason; its notices start afresh, so everyone
 * gets a new card and the earlier cards keep saying it was resolved. Undefined unless the page is
 * resolved now, so two processes asking at once page once.
 */
export async function reopenPage(db: Db, incidentKey: string, reason: string, actor: string, now: Date): Promise<Page | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<PageRow>(
      `UPDATE pages SET state = 'open', level = 0, next_at = $2, reason = $3, created_at = $2, acked_by = NULL, acked_at = NULL, resolved_at = NULL, version = version + 1
       WHERE incident_key = $1 AND state = 'resolved' RETURNING *`,
      [incidentKey, now, reason],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    await tx.query('DELETE FROM page_notices WHERE page_id = $1', [row.id]);
    await audit(tx, actor, 'page.reopened', incidentKey, { reason });
    return toPage(row);
  });
}

interface NoticeRow {
  id: number;
  page_id: number;
  level: number;
  channel: NoticeChannel;
  target: string;
  conversation_id: string | null;
  activity_id: string | null;
  desired_version: number;
  attempts: number;
}

const toNotice = (r: NoticeRow): Notice => ({
  id: Number(r.id),
  pageId: Number(r.page_id),
  level: r.level,
  channel: r.channel,
  target: r.target,
  conversationId: r.conversation_id ?? undefined,
  activityId: r.activity_id ?? undefined,
  version: r.desired_version,
  attempts: r.attempts,
});

/** Claims due notices with a lease, as the card queue does: several processes, each sent once. */
export async function claimDueNotices(db: Queryable, limit: number, leaseMs: number): Promise<Notice[]> {
  return (await claimDueSends<NoticeRow>(db, 'page_notices', limit, leaseMs)).map(toNotice);
}

export async function completeNotice(db: Queryable, n: Notice, where: { conversationId?: string; activityId?: string }): Promise<void> {
  await db.query(
    `UPDATE page_notices SET sent_version = GREATEST(sent_version, $2), conversation_id = COALESCE($3, conversation_id),
       activity_id = COALESCE($4, activity_id), attempts = 0, claimed_until = NULL, last_error = NULL WHERE id = $1`,
    [n.id, n.version, where.conversationId ?? null, where.activityId ?? null],
  );
}

/** Puts a notice back for a later attempt; one held back by pacing (`paced`) did not fail and keeps its back-off. */
export const retryNoticeLater = (db: Queryable, n: Notice, delayMs: number, error: string, paced = false) =>
  retrySendLater(db, { table: 'page_notices', where: 'id = $1', params: [n.id] }, delayMs, error, paced);

export async function listNotices(db: Queryable, pageId: number): Promise<Notice[]> {
  // In the order they were asked for within a level: a reassignment comes after whoever had it.
  const r = await db.query<NoticeRow>('SELECT * FROM page_notices WHERE page_id = $1 ORDER BY level, id', [pageId]);
  return r.rows.map(toNotice);
}
