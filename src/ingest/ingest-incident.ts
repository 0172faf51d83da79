import { AppError } from '../errors';
import type { Db } from '../store/db';
import { groupCommitFor } from '../store/group-commit';
import { upsertWithTwin } from '../store/twin-repository';
import type { AlsoInCommit, UpsertOutcome } from '../store/incident-repository';
import { parseIncidentPayload } from '../incidents/parse-incident';
import { describeWorkspace, sameWorkspace, workspaceOfIncidentId, type Incident, type WorkspaceRef } from '../incidents/incident';

export interface IngestDeps {
  db: Db;
  portalUrl: string;
  /** The workspaces Vigil serves (`config.workspaces`); incidents of any other are refused. */
  workspaces: ReadonlyArray<ListedWorkspace>;
  /** Called after a change is committed, so the outbox delivers it now rather than at its next poll. */
  onChange: (incident: Incident, outcome: UpsertOutcome) => void;
  /** Written in the incident's own commit when it changed (the case policy's ask): a crash loses both or neither. */
  alsoInCommit?: AlsoInCommit;
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

/** A workspace Vigil serves, with the short name its incidents carry (the single-workspace settings name none). */
export type ListedWorkspace = WorkspaceRef & { name?: string };

/**
 * `checkWorkspace` against every workspace Vigil serves: the one the incident's ARM id names, or
 * a refusal naming the incident's workspace and the listed ones.
 */
export function checkListedWorkspace<W extends ListedWorkspace>(incident: Incident, listed: ReadonlyArray<W>, workspaceInfo?: Partial<WorkspaceRef>): W {
  const own = workspaceOfIncidentId(incident.id);
  const found = own && listed.find((w) => sameWorkspace(w, own));
  if (!found) {
    if (listed.length === 1) checkWorkspace(incident, listed[0]!, workspaceInfo);
    if (!own) throw new AppError('BAD_REQUEST', 'object.id: must name a Log Analytics workspace', { fields: ['object.id'] });
    throw new AppError(
      'FORBIDDEN',
      `object.id: the incident belongs to workspace ${describeWorkspace(own)}; Vigil takes incidents of ${listed.map((w) => w.name ?? w.workspaceName).join(', ')} only`,
      {
        fields: ['object.id'],
        workspace: own,
      },
    );
  }
  checkWorkspace(incident, found, workspaceInfo);
  return found;
}

/**
 * Parses and stores one incident payload. Throws BAD_REQUEST (or FORBIDDEN for another workspace)
 * before anything is written; once it returns, the incident (and the cards it needs) are durable.
 * The incident is stored by its ARM id, never by its number.
 */
export async function ingestIncident(body: unknown, deps: IngestDeps): Promise<{ incident: Incident; outcome: UpsertOutcome }> {
  const { incident, workspaceInfo } = parseIncidentPayload(body, { portalUrl: deps.portalUrl });
  const workspace = checkListedWorkspace(incident, deps.workspaces, workspaceInfo);
  return storeIncident(workspace.name ? { ...incident, workspace: workspace.name } : incident, deps);
}

/**
 * Stores an incident already parsed (by any ingest path: the webhook, the pollers) and, when it
 * changed, calls `onChange`; the store ignores replays and older versions. Durable once it returns.
 */
export async function storeIncident(incident: Incident, deps: Pick<IngestDeps, 'db' | 'onChange' | 'alsoInCommit'>): Promise<{ incident: Incident; outcome: UpsertOutcome }> {
  // Defender XDR's incidents come by two ways (Sentinel's copy and Graph's): one row, one card.
  if (incident.xdrId !== undefined) {
    const stored = await upsertWithTwin(deps.db, { ...incident, xdrId: incident.xdrId }, deps.alsoInCommit);
    if (stored.outcome.kind === 'created' || stored.outcome.kind === 'updated') deps.onChange(stored.incident, stored.outcome);
    return stored;
  }
  // A grouped commit: in a storm, the incidents arriving together share one commit, each durable
  // (and answered) only once it is done; one the database refuses is refused alone.
  const outcome = await groupCommitFor(deps.db).upsert(incident, deps.alsoInCommit);
  if (outcome.kind === 'created' || outcome.kind === 'updated') deps.onChange(incident, outcome);
  return { incident, outcome };
}
