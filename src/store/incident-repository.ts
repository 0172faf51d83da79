import crypto from 'node:crypto';
import type { Incident } from '../incidents/incident';
import { requestCardsIn, type CardRequest } from './card-requests';
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

/** Writes that belong to an incident's change (a case asked for), in the transaction that stores it. */
export type AlsoInCommit = (tx: Queryable, incident: Incident, outcome: UpsertOutcome) => Promise<void>;

/**
 * Inserts or updates one incident and, when its content changed, asks for its card in the channels
 * routing sends it to (`requestCardsIn`) — in the same transaction, so a stored change always reaches the outbox.
 * Idempotent: a replay is `unchanged`; an older `lastModifiedAt` is `stale` and writes nothing.
 * `alsoInCommit` runs in the same transaction when the incident changed.
 */
export async function upsertIncident(db: Db, incident: Incident, alsoInCommit?: AlsoInCommit): Promise<UpsertOutcome> {
  return db.transaction(async (tx) => {
    const outcome = await upsertIncidentIn(tx, incident);
    // What must follow the change (a case asked for, resolved) commits with it.
    if (alsoInCommit && (outcome.kind === 'created' || outcome.kind === 'updated')) await alsoInCommit(tx, incident, outcome);
    return outcome;
  });
}

/** `upsertIncident` inside a transaction the caller owns. */
export async function upsertIncidentIn(tx: Queryable, incident: Incident): Promise<UpsertOutcome> {
  const [outcome] = await upsertIncidentsIn(tx, [incident]);
  return outcome!;
}

/**
 * `upsertIncidentIn` for many incidents at once, in the caller's transaction (a grouped commit):
 * the same outcomes, in the order given, but a fixed handful of statements for the whole group
 * rather than three per incident — one read of every stored row (locked in key order), one
 * multi-row insert of the new ones, one request for all their cards; only changes to stored
 * incidents are written one by one. An incident given twice is applied in order, the second in
 * a later round that sees the first.
 */
export async function upsertIncidentsIn(tx: Queryable, incidents: Incident[]): Promise<UpsertOutcome[]> {
  const outcomes: UpsertOutcome[] = new Array(incidents.length);
  let pending = incidents.map((incident, at) => ({ incident, at }));
  while (pending.length > 0) {
    const seen = new Set<string>();
    const round = pending.filter((p) => !seen.has(p.incident.key) && seen.add(p.incident.key) !== undefined);
    pending = pending.filter((p) => !round.includes(p));
    const results = await upsertDistinct(
      tx,
      round.map((p) => p.incident),
    );
    round.forEach((p, n) => (outcomes[p.at] = results[n]!));
  }
  return outcomes;
}

/** One round of `upsertIncidentsIn`: every key distinct. */
async function upsertDistinct(tx: Queryable, incidents: Incident[]): Promise<UpsertOutcome[]> {
  const hashes = incidents.map(contentHash);
  const existing = await tx.query<Omit<IncidentRow, 'data'> & { key: string; assessed_severity: string | null }>(
    'SELECT key, version, content_hash, last_modified_at, assessed_severity FROM incidents WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE',
    [incidents.map((i) => i.key)],
  );
  const stored = new Map(existing.rows.map((r) => [r.key, r]));
  const outcomes: UpsertOutcome[] = new Array(incidents.length);
  const fresh = incidents.map((incident, n) => ({ incident, n })).filter(({ incident }) => !stored.has(incident.key));
  const cards: CardRequest[] = [];
  if (fresh.length > 0) {
    const column = <T>(f: (i: Incident, n: number) => T) => fresh.map(({ incident, n }) => f(incident, n));
    const inserted = await tx.query<{ key: string }>(
      `INSERT INTO incidents (key, arm_id, number, severity, status, title, created_at, last_modified_at, content_hash, data)
       SELECT key, arm_id, number, severity, status, title, created_at, last_modified_at, content_hash, data::jsonb
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])
         AS t (key, arm_id, number, severity, status, title, created_at, last_modified_at, content_hash, data)
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [
        column((i) => i.key),
        column((i) => i.id),
        column((i) => i.number),
        column((i) => i.severity),
        column((i) => i.status),
        column((i) => i.title),
        column((i) => i.createdAt),
        column((i) => i.lastModifiedAt ?? null),
        column((_, n) => hashes[n]!),
        column((i) => JSON.stringify(i)),
      ],
    );
    const created = new Set(inserted.rows.map((r) => r.key));
    for (const { incident, n } of fresh) {
      // Another writer inserted the same incident between our read and write: treat as a replay.
      outcomes[n] = created.has(incident.key) ? { kind: 'created', version: 1 } : { kind: 'unchanged' };
      if (created.has(incident.key)) cards.push({ incident, version: 1 });
    }
  }
  for (const [n, incident] of incidents.entries()) {
    const row = stored.get(incident.key);
    if (!row) continue;
    const outcome = await applyToStored(tx, incident, hashes[n]!, row);
    outcomes[n] = outcome;
    if (outcome.kind === 'updated') cards.push({ incident, version: outcome.version, assessedSeverity: row.assessed_severity });
  }
  await requestCardsIn(tx, cards);
  return outcomes;
}

/** A change to a stored incident (the row read and locked): stale, unchanged or updated; cards are the caller's. */
async function applyToStored(tx: Queryable, incident: Incident, hash: string, row: Omit<IncidentRow, 'data'>): Promise<UpsertOutcome> {
  const stored = row.last_modified_at ? new Date(row.last_modified_at).getTime() : undefined;
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
  return { kind: 'updated', version };
}

/** A new version of an incident's card without a change to the incident (enrichment arrived). */
export async function bumpIncidentVersion(db: Db, incidentKey: string): Promise<number | undefined> {
  return db.transaction((tx) => bumpIncidentVersionIn(tx, incidentKey));
}

/** The same, inside a transaction the caller holds: the redraw commits with the change it shows. */
/** `assessedSeverity`, when given (even as undefined: none), is saved in the same statement. */
export async function bumpIncidentVersionIn(tx: Queryable, incidentKey: string, o: { assessedSeverity?: string } = {}): Promise<number | undefined> {
  const r = await tx.query<{ version: number; data: Incident; assessed_severity: string | null }>(
    `UPDATE incidents SET version = version + 1, updated_at = now(), assessed_severity = CASE WHEN $2 THEN $3 ELSE assessed_severity END
     WHERE key = $1 RETURNING version, data, assessed_severity`,
    [incidentKey, 'assessedSeverity' in o, o.assessedSeverity ?? null],
  );
  const row = r.rows[0];
  if (row) await requestCardsIn(tx, [{ incident: row.data, version: row.version, assessedSeverity: row.assessed_severity }]);
  return row?.version;
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

/** Every stored incident with `number`, newest first: with several workspaces (and Defender's own numbering) there can be more than one. */
export async function listIncidentsByNumber(db: Queryable, number: number): Promise<StoredIncident[]> {
  const r = await db.query<IncidentRow>('SELECT data, version FROM incidents WHERE number = $1 ORDER BY created_at DESC LIMIT 20', [number]);
  return r.rows.map((row) => ({ incident: row.data, version: row.version }));
}

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

/**
 * The severity paging and the page card go by: Vigil's assessment where enrichment saved one,
 * Sentinel's otherwise. A read of what the last enrichment flush stored, so no caller summarises again.
 */
export async function getCurrentSeverity(db: Queryable, key: string): Promise<string | undefined> {
  const r = await db.query<{ severity: string }>('SELECT COALESCE(assessed_severity, severity) AS severity FROM incidents WHERE key = $1', [key.toLowerCase()]);
  return r.rows[0]?.severity;
}
