import crypto from 'node:crypto';
import type { Incident } from '../incidents/incident';
import type { Db, Queryable } from './db';

export type UpsertOutcome = { kind: 'created'; version: number } | { kind: 'updated'; version: number } | { kind: 'unchanged' } | { kind: 'stale'; storedLastModifiedAt: string };

export interface StoredIncident {
  incident: Incident;
  version: number;
}

interface IncidentRow {
  data: Incident;
  version: number;
  content_hash: string;
  last_modified_at: Date | null;
}

/** What a reader sees; etag and modification time alone change nothing worth a card update. */
const contentHash = (i: Incident): string => {
  const { etag: _etag, lastModifiedAt: _modified, ...visible } = i;
  return crypto.createHash('sha256').update(JSON.stringify(visible)).digest('hex');
};

const time = (iso?: string) => (iso ? new Date(iso).getTime() : undefined);

/**
 * Inserts or updates one incident and, when its content changed, asks for its card in every
 * subscribed channel — in the same transaction, so a stored change always reaches the outbox.
 * Idempotent: a replay is `unchanged`; an older `lastModifiedAt` is `stale` and writes nothing.
 */
export async function upsertIncident(db: Db, incident: Incident): Promise<UpsertOutcome> {
  return db.transaction((tx) => upsertIncidentIn(tx, incident));
}

/** `upsertIncident` inside a transaction the caller owns (a grouped commit). */
export async function upsertIncidentIn(tx: Queryable, incident: Incident): Promise<UpsertOutcome> {
  {
    const hash = contentHash(incident);
    const existing = await tx.query<IncidentRow>('SELECT data, version, content_hash, last_modified_at FROM incidents WHERE key = $1 FOR UPDATE', [incident.key]);
    const row = existing.rows[0];
    if (!row) {
      const inserted = await tx.query(
        `INSERT INTO incidents (key, arm_id, number, severity, status, title, created_at, last_modified_at, content_hash, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO NOTHING RETURNING version`,
        [incident.key, incident.id, incident.number, incident.severity, incident.status, incident.title, incident.createdAt, incident.lastModifiedAt ?? null, hash, incident],
      );
      // Another writer inserted the same incident between our read and write: treat as a replay.
      if (inserted.rowCount === 0) return { kind: 'unchanged' };
      await requestCards(tx, incident.key, 1);
      return { kind: 'created', version: 1 };
    }

    const stored = row.last_modified_at?.getTime();
    const incoming = time(incident.lastModifiedAt);
    if (stored !== undefined && incoming !== undefined && incoming < stored) {
      return { kind: 'stale', storedLastModifiedAt: new Date(stored).toISOString() };
    }
    if (row.content_hash === hash) {
      if (incoming !== undefined && (stored === undefined || incoming > stored)) {
        await tx.query('UPDATE incidents SET last_modified_at = $2, data = $3 WHERE key = $1', [incident.key, incident.lastModifiedAt, incident]);
      }
      return { kind: 'unchanged' };
    }
    const version = row.version + 1;
    await tx.query(
      `UPDATE incidents SET arm_id = $2, number = $3, severity = $4, status = $5, title = $6, created_at = $7,
         last_modified_at = COALESCE($8, last_modified_at), content_hash = $9, data = $10, version = $11, updated_at = now()
       WHERE key = $1`,
      [incident.key, incident.id, incident.number, incident.severity, incident.status, incident.title, incident.createdAt, incident.lastModifiedAt ?? null, hash, incident, version],
    );
    await requestCards(tx, incident.key, version);
    return { kind: 'updated', version };
  }
}

/**
 * Marks the card of `version` as wanted in every subscribed channel. It falls due at once unless
 * the card is waiting out a throttle or the spacing between updates; then it goes at that time,
 * carrying every change made meanwhile.
 */
export async function requestCards(tx: Queryable, incidentKey: string, version: number): Promise<void> {
  await tx.query(
    `INSERT INTO incident_cards (incident_key, conversation_id, desired_version)
     SELECT $1, id, $2 FROM conversations WHERE subscribed
     ON CONFLICT (incident_key, conversation_id) DO UPDATE
       SET desired_version = GREATEST(incident_cards.desired_version, excluded.desired_version),
           requested_at = CASE WHEN incident_cards.sent_version < incident_cards.desired_version THEN incident_cards.requested_at ELSE now() END`,
    [incidentKey, version],
  );
}

/** A new version of an incident's card without a change to the incident (enrichment arrived). */
export async function bumpIncidentVersion(db: Db, incidentKey: string): Promise<number | undefined> {
  return db.transaction((tx) => bumpIncidentVersionIn(tx, incidentKey));
}

/** The same, inside a transaction the caller holds: the redraw commits with the change it shows. */
export async function bumpIncidentVersionIn(tx: Queryable, incidentKey: string): Promise<number | undefined> {
  const r = await tx.query<{ version: number }>('UPDATE incidents SET version = version + 1, updated_at = now() WHERE key = $1 RETURNING version', [incidentKey]);
  const version = r.rows[0]?.version;
  if (version !== undefined) await requestCards(tx, incidentKey, version);
  return version;
}

export async function getIncident(db: Queryable, key: string): Promise<StoredIncident | undefined> {
  const r = await db.query<IncidentRow>('SELECT data, version FROM incidents WHERE key = $1', [key.toLowerCase()]);
  const row = r.rows[0];
  return row ? { incident: row.data, version: row.version } : undefined;
}

/** Incident numbers are unique per workspace; with several workspaces the newest wins. */
export async function getIncidentByNumber(db: Queryable, number: number): Promise<StoredIncident | undefined> {
  const r = await db.query<IncidentRow>('SELECT data, version FROM incidents WHERE number = $1 ORDER BY created_at DESC LIMIT 1', [number]);
  const row = r.rows[0];
  return row ? { incident: row.data, version: row.version } : undefined;
}

/** Open incidents, most severe first and newest first within a severity. */
/** Open incidents with Vigil's assessed severity where enrichment set one. */
export interface OpenIncident {
  incident: Incident;
  assessedSeverity?: string;
}

/**
 * Open incidents, most severe first by Vigil's assessed severity (Critical above Sentinel's own
 * scale; Sentinel's severity where nothing was assessed), then newest.
 */
export async function listOpenIncidentsAssessed(db: Queryable, limit: number): Promise<OpenIncident[]> {
  const r = await db.query<{ data: Incident; assessed_severity: string | null }>(
    `SELECT data, assessed_severity FROM incidents WHERE status <> 'Closed'
     ORDER BY CASE COALESCE(assessed_severity, severity) WHEN 'Critical' THEN 0 WHEN 'High' THEN 1 WHEN 'Medium' THEN 2 WHEN 'Low' THEN 3 ELSE 4 END, created_at DESC
     LIMIT $1`,
    [limit],
  );
  return r.rows.map((row) => ({ incident: row.data, assessedSeverity: row.assessed_severity ?? undefined }));
}

/** Open incidents in the order of `listOpenIncidentsAssessed`. */
export async function listOpenIncidents(db: Queryable, limit: number): Promise<Incident[]> {
  return (await listOpenIncidentsAssessed(db, limit)).map((x) => x.incident);
}

export async function countOpenIncidents(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE status <> 'Closed'`);
  return r.rows[0]?.n ?? 0;
}

/**
 * The stored `lastModifiedAt` of each of `keys` that is stored (null: stored without one). Lets a
 * poller skip rows it already has before it spends a query on their alerts.
 */
export async function storedModificationTimes(db: Queryable, keys: string[]): Promise<Map<string, Date | null>> {
  if (keys.length === 0) return new Map();
  const r = await db.query<{ key: string; last_modified_at: Date | null }>('SELECT key, last_modified_at FROM incidents WHERE key = ANY($1)', [keys]);
  return new Map(r.rows.map((row) => [row.key, row.last_modified_at && new Date(row.last_modified_at)]));
}

/**
 * Records enrichment's verdict (Critical/High, or none) where the outbox reads it: such an
 * incident never waits in a storm digest. Call before asking for the new card version.
 */
export async function saveAssessedSeverity(db: Queryable, key: string, severity: string | undefined): Promise<void> {
  await db.query('UPDATE incidents SET assessed_severity = $2 WHERE key = $1 AND assessed_severity IS DISTINCT FROM $2', [key, severity ?? null]);
}
