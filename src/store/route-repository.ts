import { parseRouteRule } from '../routing/parse-route-rule';
import type { RouteRule } from '../routing/route-rule';
import type { Db, Queryable } from './db';

/** A subscribed channel and what it asked for: `rules` undefined means everything (it never chose). */
export interface ChannelRouting {
  conversationId: string;
  rules?: RouteRule[];
}

export interface StoredRoute {
  id: number;
  rule: string;
  createdBy?: string;
  createdAt: Date;
}

/** Parsed rules by their stored text: the store holds only what the parser wrote, so this never fails twice. */
const parsed = new Map<string, RouteRule | null>();
const ruleOf = (text: string): RouteRule | undefined => {
  if (!parsed.has(text)) {
    const r = parseRouteRule(text);
    parsed.set(text, r.ok ? r.rule : null);
  }
  return parsed.get(text) ?? undefined;
};

/**
 * Every subscribed channel with its rules, for one incident's card requests: what it subscribed
 * to from chat and what the workspaces file pins there. Read in the transaction that asks for
 * the cards, so a subscription committed before it is obeyed.
 */
export async function loadChannelRouting(tx: Queryable): Promise<ChannelRouting[]> {
  const r = await tx.query<{ id: string; routed: boolean; rules: string[] | null; pinned: string[] | null }>(
    `SELECT c.id, c.routed,
       (SELECT array_agg(r.rule ORDER BY r.id) FROM channel_routes r WHERE r.conversation_id = c.id) AS rules,
       (SELECT array_agg(p.rule ORDER BY p.rule) FROM pinned_routes p WHERE p.conversation_id = c.id) AS pinned
     FROM conversations c WHERE c.subscribed ORDER BY c.id`,
  );
  return r.rows.map((row) => ({
    conversationId: row.id,
    rules: row.routed || row.pinned ? [...(row.routed ? (row.rules ?? []) : []), ...(row.pinned ?? [])].map(ruleOf).filter((x): x is RouteRule => x !== undefined) : undefined,
  }));
}

/**
 * Replaces the pinned routes with `pins` (the workspaces file's channels, each with the rule
 * `workspace=<name>`), in one transaction at start-up.
 */
export async function replacePinnedRoutes(db: Db, pins: Array<{ conversationId: string; rule: string }>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('DELETE FROM pinned_routes');
    if (pins.length === 0) return;
    await tx.query('INSERT INTO pinned_routes (conversation_id, rule) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [
      pins.map((p) => p.conversationId),
      pins.map((p) => p.rule),
    ]);
  });
}

/** The workspaces file's channels Vigil has no conversation for yet (it was installed in their team, not in them). */
export async function listUnknownPinnedChannels(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>('SELECT DISTINCT p.conversation_id AS id FROM pinned_routes p LEFT JOIN conversations c ON c.id = p.conversation_id WHERE c.id IS NULL ORDER BY 1');
  return r.rows.map((row) => row.id);
}

/** The workspaces file's routes into `conversationId`. */
export async function listPinnedRoutes(db: Queryable, conversationId: string): Promise<string[]> {
  const r = await db.query<{ rule: string }>('SELECT rule FROM pinned_routes WHERE conversation_id = $1 ORDER BY rule', [conversationId]);
  return r.rows.map((row) => row.rule);
}

/** Adds `rule` (as formatRouteRule wrote it) to what the channel gets; false when it already had it. */
export async function addChannelRoute(db: Queryable, conversationId: string, rule: string, createdBy?: string): Promise<boolean> {
  await db.query('UPDATE conversations SET routed = true, updated_at = now() WHERE id = $1', [conversationId]);
  const r = await db.query('INSERT INTO channel_routes (conversation_id, rule, created_by) VALUES ($1, $2, $3) ON CONFLICT (conversation_id, rule) DO NOTHING', [
    conversationId,
    rule,
    createdBy ?? null,
  ]);
  return r.rowCount > 0;
}

/** The channel's rules, oldest first; `routed` false: it never chose, and gets everything. */
export async function listChannelRoutes(db: Queryable, conversationId: string): Promise<{ routed: boolean; routes: StoredRoute[] }> {
  const c = await db.query<{ routed: boolean }>('SELECT routed FROM conversations WHERE id = $1', [conversationId]);
  const r = await db.query<{ id: string; rule: string; created_by: string | null; created_at: Date }>(
    'SELECT id, rule, created_by, created_at FROM channel_routes WHERE conversation_id = $1 ORDER BY id',
    [conversationId],
  );
  return {
    routed: c.rows[0]?.routed ?? false,
    routes: r.rows.map((row) => ({ id: Number(row.id), rule: row.rule, createdBy: row.created_by ?? undefined, createdAt: new Date(row.created_at) })),
  };
}

/** Removes every rule, or the one `rule`: the channel then gets what the rules left say (none: nothing new). */
export async function removeChannelRoutes(db: Queryable, conversationId: string, rule?: string): Promise<number> {
  await db.query('UPDATE conversations SET routed = true, updated_at = now() WHERE id = $1', [conversationId]);
  const r =
    rule === undefined
      ? await db.query('DELETE FROM channel_routes WHERE conversation_id = $1', [conversationId])
      : await db.query('DELETE FROM channel_routes WHERE conversation_id = $1 AND rule = $2', [conversationId, rule]);
  return r.rowCount;
}
