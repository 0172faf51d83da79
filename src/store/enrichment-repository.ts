import type { Queryable } from './db';

/** One provider's answer about one entity of one incident, as stored (JSON, opaque to the store). */
export interface StoredEnrichment<R = unknown> {
  entityKind: string;
  entityValue: string;
  source: string;
  result: R;
}

/** Saves a result; a later answer for the same entity and source replaces the earlier one. */
export async function saveEnrichment(db: Queryable, incidentKey: string, e: StoredEnrichment): Promise<void> {
  await db.query(
    `INSERT INTO enrichments (incident_key, entity_kind, entity_value, source, result) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (incident_key, entity_kind, entity_value, source) DO UPDATE SET result = excluded.result, at = now()`,
    [incidentKey, e.entityKind, e.entityValue, e.source, e.result],
  );
}

/**
 * Saves several results in one statement, as `saveEnrichment` would one by one (the last of two
 * for the same entity and source wins).
 */
export async function saveEnrichments(db: Queryable, incidentKey: string, list: ReadonlyArray<StoredEnrichment>): Promise<void> {
  const unique = [...new Map(list.map((e) => [`${e.entityKind}\u0000${e.entityValue}\u0000${e.source}`, e])).values()];
  if (unique.length === 0) return;
  // json, as the column is, not jsonb: the card shows a provider's facts in the order it gave them.
  await db.query(
    `INSERT INTO enrichments (incident_key, entity_kind, entity_value, source, result)
     SELECT $1, k, v, s, r::json FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS t (k, v, s, r)
     ON CONFLICT (incident_key, entity_kind, entity_value, source) DO UPDATE SET result = excluded.result, at = now()`,
    [incidentKey, unique.map((e) => e.entityKind), unique.map((e) => e.entityValue), unique.map((e) => e.source), unique.map((e) => JSON.stringify(e.result))],
  );
}

export async function listEnrichments<R = unknown>(db: Queryable, incidentKey: string): Promise<Array<StoredEnrichment<R>>> {
  const r = await db.query<{ entity_kind: string; entity_value: string; source: string; result: R }>(
    'SELECT entity_kind, entity_value, source, result FROM enrichments WHERE incident_key = $1 ORDER BY entity_kind, entity_value, source',
    [incidentKey],
  );
  return r.rows.map((row) => ({ entityKind: row.entity_kind, entityValue: row.entity_value, source: row.source, result: row.result }));
}

/** Open incidents changed recently: the ones worth finishing enrichment for after a restart. */
export async function listRecentOpenIncidentKeys(db: Queryable, sinceHours: number): Promise<string[]> {
  const r = await db.query<{ key: string }>(`SELECT key FROM incidents WHERE status <> 'Closed' AND updated_at > now() - make_interval(hours => $1) ORDER BY updated_at DESC LIMIT 500`, [sinceHours]);
  return r.rows.map((row) => row.key);
}
