import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { createKqlRunner, type KqlRunner } from '../enrichment/kql-runner';
import { sameWorkspace, workspaceOfIncidentId, type Incident } from '../incidents/incident';
import { workspaceCredentials } from './workspace-credential';
import { workspaceLabel, type Workspace } from './workspaces';

/** One workspace's Log Analytics: its queries go to its own workspace id, with its tenant's credential. */
export interface WorkspaceRunner {
  workspace: Workspace;
  runner: KqlRunner;
}

export interface WorkspaceLogs {
  /** Every listed workspace, in the file's order; the first is the default (`kql` without `workspace=`, `enrich`). */
  all: WorkspaceRunner[];
  /** The workspace a stored incident belongs to (its ARM id, or its short name); the first for Graph's own incidents. */
  forIncident(incident?: Pick<Incident, 'id' | 'workspace'>): WorkspaceRunner;
  /** The workspace people call `label` (its short name or its Log Analytics name, any case). */
  byLabel(label: string): WorkspaceRunner | undefined;
}

/**
 * Log Analytics for every workspace Vigil serves, when Log Analytics is configured: the SecurityIncident
 * poller reads each workspace's table, and an incident's KQL look-ups run in the workspace it came
 * from — a fabrikam incident's sign-ins are in fabrikam's workspace, not in the first listed one.
 */
export function createWorkspaceLogs(config: Pick<Config, 'workspaces' | 'azure' | 'enrichment'>, credential: TokenCredential | undefined): WorkspaceLogs | undefined {
  const logs = config.enrichment.logs;
  if (!logs) return undefined;
  const credentialOf = workspaceCredentials(config, credential);
  const all = config.workspaces.map((workspace) => ({ workspace, runner: createKqlRunner({ baseUrl: logs.baseUrl, workspaceId: workspace.workspaceId, credential: credentialOf(workspace) }) }));
  const first = all[0]!;
  return {
    all,
    forIncident(incident) {
      if (!incident) return first;
      const own = workspaceOfIncidentId(incident.id);
      const found = own ? all.find((w) => sameWorkspace(w.workspace, own)) : incident.workspace ? this.byLabel(incident.workspace) : undefined;
      return found ?? first;
    },
    byLabel(label) {
      const l = label.toLowerCase();
      return all.find((w) => workspaceLabel(w.workspace).toLowerCase() === l || w.workspace.workspaceName.toLowerCase() === l);
    },
  };
}
