import { canonicalIncident, mergeTwin } from '../incidents/merge-twin';
import type { Incident } from '../incidents/incident';
import type { Db } from './db';
import { upsertIncidentIn, type AlsoInCommit, type UpsertOutcome } from './incident-repository';

/** Arbitrary, fixed: the advisory lock space of XDR incident ids (hashed into the second key). */
const XDR_LOCK_SPACE = 72_101_012;

/**
 * A version of the stored copy itself: the store's own rules apply (replays, older versions), and
 * what the other copy added stays. Untouched when the other copy added nothing, so a replay hashes
 * as it did the first time.
 */
const keepOtherSide = (stored: Incident, incoming: Incident): Incident => {
  const kept = (['workspace', 'defenderUrl', 'sentinelUrl'] as const).filter((k) => incoming[k] === undefined && stored[k] !== undefined);
  if (kept.length === 0) return incoming;
  return canonicalIncident({ ...incoming, ...Object.fromEntries(kept.map((k) => [k, stored[k]])) });
};

/**
 * Stores an incident that has a Defender XDR id (`xdrId`) as one with the copy already stored under
 * another key: Sentinel's incident by the webhook or the SecurityIncident poller and Defender's by
 * the Graph poller are the same incident, and must make one card. The first copy stored keeps its
 * key; a later copy is merged into it (`mergeTwin`) and stored there, so its card is updated, not
 * doubled. Under a transaction-scoped lock on the XDR id, so two replicas (or the webhook and a
 * poller at once) cannot both find no copy and store two. Returns the incident as stored.
 */
export async function upsertWithTwin(db: Db, incident: Incident & { xdrId: string }, alsoInCommit?: AlsoInCommit): Promise<{ incident: Incident; outcome: UpsertOutcome }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [XDR_LOCK_SPACE, incident.xdrId]);
    // Its own row first: a copy already merged into it keeps what the other copy added.
    const found = await tx.query<{ key: string; data: Incident }>(`SELECT key, data FROM incidents WHERE data->>'xdrId' = $1 OR key = $2 ORDER BY (key = $2) DESC, received_at, key LIMIT 1`, [
      incident.xdrId,
      incident.key,
    ]);
    const stored = found.rows[0];
    const toStore = !stored ? incident : stored.key === incident.key ? keepOtherSide(stored.data, incident) : mergeTwin(stored.data, incident);
    const outcome = await upsertIncidentIn(tx, toStore);
    if (alsoInCommit && (outcome.kind === 'created' || outcome.kind === 'updated')) await alsoInCommit(tx, toStore, outcome);
    return { incident: toStore, outcome };
  });
}
