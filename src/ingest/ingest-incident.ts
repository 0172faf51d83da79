import { AppError } from '../errors';
import type { Db } from '../store/db';
import { groupCommitFor } from '../store/group-commit';
import type { UpsertOutcome } from '../store/incident-repository';
import { parseIncidentPayload } from '../incidents/parse-incident';
import { describeWorkspace, sameWorkspace, workspaceOfIncidentId, type Incident, type WorkspaceRef } from '../incidents/incident';

export interface IngestDeps {
  db: Db;
  portalUrl: string;
  /** The one workspace Vigil is configured for (`config.sentinel`); incidents of any other are refused. */
  workspace: WorkspaceRef;
  /** Called after a change is committed, so the outbox delivers it now rather than at its next poll. */
  onChange: (incident: Incident, outcome: UpsertOutcome) => void;
}

const WORKSPACE_FIELDS = [
  ['subscriptionId', 'SubscriptionId'],
  ['resourceGroup', 'ResourceGroupName'],
  ['workspaceName', 'WorkspaceName'],
] as const;

/**
 * Refuses an incident of another workspace (403, naming it) and an envelope whose `workspaceInfo`
 * contradicts the incident's ARM id (400): the ARM id says where the incident lives, and a body
 * that says two things is not trusted with either.
 */
export function checkWorkspace(incident: Incident, configured: WorkspaceRef, workspaceInfo?: Partial<WorkspaceRef>): void {
  const own = workspaceOfIncidentId(incident.id);
  if (!own) throw new AppError('BAD_REQUEST', 'object.id: must name a Log Analytics workspace', { fields: ['object.id'] });
  if (!sameWorkspace(own, configured)) {
    throw new AppError('FORBIDDEN', `object.id: the incident belongs to workspace ${describeWorkspace(own)}; Vigil takes incidents of ${describeWorkspace(configured)} only`, {
      fields: ['object.id'],
      workspace: own,
    });
  }
  for (const [ours, theirs] of WORKSPACE_FIELDS) {
    const said = workspaceInfo?.[ours];
    if (said !== undefined && said.toLowerCase() !== own[ours].toLowerCase()) {
      throw new AppError('BAD_REQUEST', `workspaceInfo.${theirs}: "${said.slice(0, 100)}" contradicts the incident's ARM id (${own[ours]})`, { fields: [`workspaceInfo.${theirs}`] });
    }
  }
}

/**
 * Parses and stores one incident payload. Throws BAD_REQUEST (or FORBIDDEN for another workspace)
 * before anything is written; once it returns, the incident (and the cards it needs) are durable.
 * The incident is stored by its ARM id, never by its number.
 */
export async function ingestIncident(body: unknown, deps: IngestDeps): Promise<{ incident: Incident; outcome: UpsertOutcome }> {
  const { incident, workspaceInfo } = parseIncidentPayload(body, { portalUrl: deps.portalUrl });
  checkWorkspace(incident, deps.workspace, workspaceInfo);
  return storeIncident(incident, deps);
}

/**
 * Stores an incident already parsed (by any ingest path: the webhook, the pollers) and, when it
 * changed, calls `onChange`; the store ignores replays and older versions. Durable once it returns.
 */
export async function storeIncident(incident: Incident, deps: Pick<IngestDeps, 'db' | 'onChange'>): Promise<{ incident: Incident; outcome: UpsertOutcome }> {
  // A grouped commit: in a storm, the incidents arriving together share one commit, each durable
  // (and answered) only once it is done; one the database refuses is refused alone.
  const outcome = await groupCommitFor(deps.db).upsert(incident);
  if (outcome.kind === 'created' || outcome.kind === 'updated') deps.onChange(incident, outcome);
  return { incident, outcome };
}
