import type { CaseRef, CaseSystemName } from '../cases/case-system';
import type { Queryable } from './db';

interface CaseRow {
  system: CaseSystemName;
  case_id: string;
  number: string;
  url: string;
  state: CaseRef['state'];
}

const refOf = (r: CaseRow): CaseRef => ({ system: r.system, id: r.case_id, number: r.number, url: r.url, state: r.state });

/** The case opened for an incident, as the card shows it; undefined before the case.create job has run. */
export async function getIncidentCase(q: Queryable, incidentKey: string): Promise<CaseRef | undefined> {
  const r = await q.query<CaseRow>('SELECT system, case_id, number, url, state FROM incident_cases WHERE incident_key = $1', [incidentKey.toLowerCase()]);
  return r.rows[0] && refOf(r.rows[0]);
}

/**
 * Records the incident's case (or its new state). True when something changed, so the caller
 * redraws the card only then; a case already recorded under another id is kept (the first wins).
 */
export async function saveIncidentCase(tx: Queryable, incidentKey: string, c: CaseRef): Promise<boolean> {
  const r = await tx.query(
    `INSERT INTO incident_cases (incident_key, system, case_id, number, url, state) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (incident_key) DO UPDATE SET state = EXCLUDED.state, number = EXCLUDED.number, url = EXCLUDED.url, updated_at = now()
       WHERE incident_cases.case_id = EXCLUDED.case_id AND (incident_cases.state, incident_cases.number, incident_cases.url) IS DISTINCT FROM (EXCLUDED.state, EXCLUDED.number, EXCLUDED.url)`,
    [incidentKey.toLowerCase(), c.system, c.id, c.number, c.url, c.state],
  );
  return r.rowCount > 0;
}
