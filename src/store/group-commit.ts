import type { Incident } from '../incidents/incident';
import type { Db } from './db';
import { upsertIncidentIn, upsertIncidentsIn, type AlsoInCommit, type UpsertOutcome } from './incident-repository';

export interface IncidentGroupCommit {
  /**
   * Stores the incident in the next grouped commit and resolves once that commit is durable — never
   * before. An incident the database refuses is rolled back to its own savepoint and rejected with
   * its error; the others of its group still commit. If the commit itself fails, every incident of
   * the group is rejected (none of them was stored). `alsoInCommit` runs in the same transaction when
   * the incident changed (created or updated): what must follow the change commits with it or not at all.
   */
  upsert(incident: Incident, alsoInCommit?: AlsoInCommit): Promise<UpsertOutcome>;
}

const changed = (o: UpsertOutcome) => o.kind === 'created' || o.kind === 'updated';

interface Pending {
  incident: Incident;
  alsoInCommit?: AlsoInCommit;
  resolve: (o: UpsertOutcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for a storm: the incidents that arrive while a commit is running go into the next
 * one, each behind a savepoint, so a storm costs one commit (one fsync) per group rather than per
 * incident, and a lone incident is committed within the same turn of the event loop. Within a group, incidents are written in
 * key order (two replicas' groups lock rows in the same order; one incident's events keep theirs).
 */
export function createIncidentGroupCommit(db: Db, o: { maxGroup?: number; concurrency?: number } = {}): IncidentGroupCommit {
  const maxGroup = o.maxGroup ?? 500;
  let queue: Pending[] = [];

  const commit = async (group: Pending[]) => {
    const sorted = group.map((p, n) => ({ p, n })).sort((a, b) => (a.p.incident.key < b.p.incident.key ? -1 : a.p.incident.key > b.p.incident.key ? 1 : a.n - b.n));
    const results = new Map<Pending, { ok: true; outcome: UpsertOutcome } | { ok: false; error: unknown }>();
    const run = (savepoints: boolean) =>
      db.transaction(async (tx) => {
        results.clear();
        if (!savepoints) {
          // The whole group in a few multi-row statements, whatever its size.
          const outcomes = await upsertIncidentsIn(
            tx,
            sorted.map(({ p }) => p.incident),
          );
          for (const [n, { p }] of sorted.entries()) {
            const outcome = outcomes[n]!;
            if (p.alsoInCommit && changed(outcome)) await p.alsoInCommit(tx, p.incident, outcome);
            results.set(p, { ok: true, outcome });
          }
          return;
        }
        for (const { p } of sorted) {
          await tx.query('SAVEPOINT one_incident');
          try {
            const outcome = await upsertIncidentIn(tx, p.incident);
            if (p.alsoInCommit && changed(outcome)) await p.alsoInCommit(tx, p.incident, outcome);
            results.set(p, { ok: true, outcome });
            await tx.query('RELEASE SAVEPOINT one_incident');
          } catch (e) {
            await tx.query('ROLLBACK TO SAVEPOINT one_incident');
            results.set(p, { ok: false, error: e });
          }
        }
      });
    try {
      // Optimistic first: the group as one batch, no savepoints. Only a group the database
      // refused is written again, each incident on its own behind its savepoint.
      try {
        await run(false);
      } catch (e) {
        if (sorted.length === 1) throw e;
        await run(true);
      }
    } catch (e) {
      for (const p of group) p.reject(results.get(p)?.ok === false ? (results.get(p) as { error: unknown }).error : e);
      return;
    }
    for (const p of group) {
      const r = results.get(p)!;
      if (r.ok) p.resolve(r.outcome);
      else p.reject(r.error);
    }
  };

  /** Commits at once: one for PGlite (one connection), a few for a PostgreSQL pool, whose commits overlap. */
  const concurrency = o.concurrency ?? (db.driver === 'pg' ? 4 : 1);
  let active = 0;
  let scheduled = false;
  const pump = () => {
    scheduled = false;
    while (queue.length > 0 && active < concurrency) {
      const group = queue.slice(0, maxGroup);
      queue = queue.slice(group.length);
      active += 1;
      void commit(group).finally(() => {
        active -= 1;
        pump();
      });
    }
  };

  return {
    upsert(incident, alsoInCommit) {
      return new Promise<UpsertOutcome>((resolve, reject) => {
        queue.push({ incident, alsoInCommit, resolve, reject });
        if (scheduled || active >= concurrency) return;
        scheduled = true;
        // The requests parsed in this turn of the event loop go into one group together.
        setImmediate(pump);
      });
    },
  };
}

const perDb = new WeakMap<Db, IncidentGroupCommit>();

/** The one group committer of a database handle, so every way in (webhook, poller) shares it. */
export const groupCommitFor = (db: Db): IncidentGroupCommit => {
  let g = perDb.get(db);
  if (!g) perDb.set(db, (g = createIncidentGroupCommit(db)));
  return g;
};
