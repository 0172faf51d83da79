import type { Queryable } from './db';

/** Where a poller stands: it has handled every row ingested up to `position`. */
export interface IngestCursor {
  position: Date;
}

/**
 * Takes (or renews) the right to poll `name` for `leaseMs`, creating the cursor at
 * `now − initialLookbackMs` on the very first call. Returns undefined while another owner's
 * lease runs. Lease times are the database's clock, so replicas' clocks never disagree.
 */
export async function claimIngestCursor(db: Queryable, name: string, owner: string, leaseMs: number, initialLookbackMs: number): Promise<IngestCursor | undefined> {
  await db.query(
    `INSERT INTO ingest_cursors (name, position) VALUES ($1, now() - make_interval(secs => $2::double precision / 1000))
     ON CONFLICT (name) DO NOTHING`,
    [name, initialLookbackMs],
  );
  const r = await db.query<{ position: Date }>(
    `UPDATE ingest_cursors SET lease_owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
     WHERE name = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until IS NULL OR lease_until < now())
     RETURNING position`,
    [name, owner, leaseMs],
  );
  const row = r.rows[0];
  return row ? { position: new Date(row.position) } : undefined;
}

/**
 * Moves the cursor forward to `position` (never back) and renews the lease. Fenced: returns false,
 * writing nothing, when `owner` no longer holds the lease (another replica took it over).
 */
export async function advanceIngestCursor(db: Queryable, name: string, owner: string, position: Date, leaseMs: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE ingest_cursors SET position = GREATEST(position, $3), lease_until = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
     WHERE name = $1 AND lease_owner = $2`,
    [name, owner, position, leaseMs],
  );
  return r.rowCount > 0;
}

/** Gives the lease up (clean shutdown), so another replica polls at once instead of after it expires. */
export async function releaseIngestCursor(db: Queryable, name: string, owner: string): Promise<void> {
  await db.query('UPDATE ingest_cursors SET lease_owner = NULL, lease_until = NULL, updated_at = now() WHERE name = $1 AND lease_owner = $2', [name, owner]);
}

export async function getIngestCursor(db: Queryable, name: string): Promise<(IngestCursor & { leaseOwner?: string }) | undefined> {
  const r = await db.query<{ position: Date; lease_owner: string | null }>('SELECT position, lease_owner FROM ingest_cursors WHERE name = $1', [name]);
  const row = r.rows[0];
  return row ? { position: new Date(row.position), leaseOwner: row.lease_owner ?? undefined } : undefined;
}
