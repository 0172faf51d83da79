import type { Queryable } from './db';

export interface TeamsUser {
  aadObjectId: string;
  teamsId: string;
  name?: string;
  tenantId?: string;
  serviceUrl: string;
}

interface TeamsUserRow {
  aad_object_id: string;
  teams_id: string;
  name: string | null;
  tenant_id: string | null;
  service_url: string;
}

/** The Teams user behind an Entra object id, as last seen in an activity. */
export async function saveTeamsUser(db: Queryable, u: TeamsUser): Promise<void> {
  await db.query(
    `INSERT INTO teams_users (aad_object_id, teams_id, name, tenant_id, service_url) VALUES (lower($1), $2, $3, $4, $5)
     ON CONFLICT (aad_object_id) DO UPDATE SET teams_id = excluded.teams_id, name = COALESCE(excluded.name, teams_users.name),
       tenant_id = COALESCE(excluded.tenant_id, teams_users.tenant_id), service_url = excluded.service_url, updated_at = now()`,
    [u.aadObjectId, u.teamsId, u.name ?? null, u.tenantId ?? null, u.serviceUrl],
  );
}

export async function getTeamsUser(db: Queryable, aadObjectId: string): Promise<TeamsUser | undefined> {
  const r = await db.query<TeamsUserRow>('SELECT * FROM teams_users WHERE aad_object_id = lower($1)', [aadObjectId]);
  const row = r.rows[0];
  return row && { aadObjectId: row.aad_object_id, teamsId: row.teams_id, name: row.name ?? undefined, tenantId: row.tenant_id ?? undefined, serviceUrl: row.service_url };
}

/** Display names of Teams users Vigil has seen, by lower-cased Entra object id. */
export async function teamsUserNames(db: Queryable, aadObjectIds: string[]): Promise<Map<string, string>> {
  if (aadObjectIds.length === 0) return new Map();
  const r = await db.query<{ aad_object_id: string; name: string | null }>('SELECT aad_object_id, name FROM teams_users WHERE aad_object_id = ANY($1::text[])', [
    aadObjectIds.map((id) => id.toLowerCase()),
  ]);
  return new Map(r.rows.filter((row) => row.name).map((row) => [row.aad_object_id, row.name!]));
}

/** The Teams users seen most recently: whose clients may be asked to refresh a card. */
export async function recentTeamsUsers(db: Queryable, limit: number): Promise<Array<{ aadObjectId: string; teamsId: string }>> {
  const r = await db.query<{ aad_object_id: string; teams_id: string }>('SELECT aad_object_id, teams_id FROM teams_users ORDER BY updated_at DESC LIMIT $1', [limit]);
  return r.rows.map((row) => ({ aadObjectId: row.aad_object_id, teamsId: row.teams_id }));
}
