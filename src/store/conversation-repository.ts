import type { Queryable } from './db';

/**
 * A Bot Framework conversation reference, kept as the JSON the Teams layer gave us: the store
 * never looks inside, so it needs no Bot Framework types (only `src/teams/` and `src/bot/` do).
 */
export type StoredReference = object;

export type ConversationKind = 'channel' | 'personal' | 'groupChat';

export interface StoredConversation {
  id: string;
  kind: ConversationKind;
  tenantId?: string;
  teamId?: string;
  name?: string;
  serviceUrl: string;
  reference: StoredReference;
  subscribed: boolean;
}

interface ConversationRow {
  id: string;
  kind: ConversationKind;
  tenant_id: string | null;
  team_id: string | null;
  name: string | null;
  service_url: string;
  reference: StoredReference;
  subscribed: boolean;
}

const fromRow = (r: ConversationRow): StoredConversation => ({
  id: r.id,
  kind: r.kind,
  tenantId: r.tenant_id ?? undefined,
  teamId: r.team_id ?? undefined,
  name: r.name ?? undefined,
  serviceUrl: r.service_url,
  reference: r.reference,
  subscribed: r.subscribed,
});

/** Saves (or refreshes) a conversation reference; `subscribed` channels receive incident cards. */
export async function saveConversation(db: Queryable, c: StoredConversation): Promise<void> {
  await db.query(
    `INSERT INTO conversations (id, kind, tenant_id, team_id, name, service_url, reference, subscribed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, tenant_id = excluded.tenant_id, team_id = excluded.team_id,
       name = COALESCE(excluded.name, conversations.name), service_url = excluded.service_url, reference = excluded.reference,
       subscribed = excluded.subscribed OR conversations.subscribed, updated_at = now()`,
    [c.id, c.kind, c.tenantId ?? null, c.teamId ?? null, c.name ?? null, c.serviceUrl, c.reference, c.subscribed],
  );
}

/** The bot was removed from a team: none of the team's channels gets cards any more. */
export async function unsubscribeTeam(db: Queryable, teamId: string): Promise<number> {
  const r = await db.query('UPDATE conversations SET subscribed = false, updated_at = now() WHERE team_id = $1 AND subscribed', [teamId]);
  return r.rowCount;
}

export async function unsubscribeConversation(db: Queryable, id: string): Promise<number> {
  const r = await db.query('UPDATE conversations SET subscribed = false, updated_at = now() WHERE id = $1 AND subscribed', [id]);
  return r.rowCount;
}

export async function getConversation(db: Queryable, id: string): Promise<StoredConversation | undefined> {
  const r = await db.query<ConversationRow>('SELECT * FROM conversations WHERE id = $1', [id]);
  return r.rows[0] ? fromRow(r.rows[0]) : undefined;
}

export async function listSubscribedConversations(db: Queryable): Promise<StoredConversation[]> {
  const r = await db.query<ConversationRow>('SELECT * FROM conversations WHERE subscribed ORDER BY id');
  return r.rows.map(fromRow);
}
