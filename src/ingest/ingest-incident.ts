import type { Db } from '../store/db';
import { upsertIncident, type UpsertOutcome } from '../store/incident-repository';
import { parseIncident } from '../incidents/parse-incident';
import type { Incident } from '../incidents/incident';

export interface IngestDeps {
  db: Db;
  portalUrl: string;
  /** Called after a change is committed, so the outbox delivers it now rather than at its next poll. */
  onChange: (incident: Incident, outcome: UpsertOutcome) => void;
}

/**
 * Parses and stores one incident payload. Throws BAD_REQUEST before anything is written; once it
 * returns, the incident (and the cards it needs) are durable.
 */
export async function ingestIncident(body: unknown, deps: IngestDeps): Promise<{ incident: Incident; outcome: UpsertOutcome }> {
  const incident = parseIncident(body, { portalUrl: deps.portalUrl });
  const outcome = await upsertIncident(deps.db, incident);
  if (outcome.kind === 'created' || outcome.kind === 'updated') deps.onChange(incident, outcome);
  return { incident, outcome };
}
