import { z } from 'zod';
import { sameWorkspace, workspaceOfIncidentId, type Incident, type WorkspaceRef } from '../incidents/incident';
import { isGuid } from '../ids';
import { parseYamlConfig, readConfigFile } from '../yaml-config';

/** One Sentinel workspace Vigil serves, and the short name people and cards call it by. */
export interface Workspace extends WorkspaceRef {
  /**
   * Short and unique: `incident contoso/1041`, `subscribe workspace=contoso`, the cards' header.
   * The single-workspace settings (SENTINEL_*) give none: there the workspace's own name serves.
   */
  name?: string;
  workspaceId: string;
  tenantId?: string;
  /** Channels (conversation ids) its incidents go to whatever their own subscriptions say. */
  channels: string[];
}

const guid = z
  .string()
  .trim()
  .refine((v) => isGuid(v), 'must be a GUID');
/** What fits after `incident ` and before `/1041` and reads the same in a rule: no spaces, slashes or quotes. */
const shortName = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/i, 'must be 1–32 letters, digits, `-`, `_` or `.`, starting with a letter or digit');
const name = z.string().trim().min(1, 'must not be empty').max(90);

const workspacesSchema = z
  .object({
    workspaces: z
      .array(
        z
          .object({
            name: shortName,
            subscriptionId: guid,
            resourceGroup: name,
            workspaceName: name,
            workspaceId: guid,
            tenantId: guid.optional(),
            channels: z.array(z.string().trim().min(1)).default([]),
          })
          .strict(),
      )
      .min(1, 'lists no workspace'),
  })
  .strict();

/**
 * Reads the workspaces file: every problem with its line, at once. Two entries may not share a
 * short name (any case) or a workspace: an incident must name exactly one.
 */
export function parseWorkspaces(text: string, source = 'the workspaces file'): Workspace[] {
  const data = parseYamlConfig(text, source, workspacesSchema, (d, where) => {
    const problems: string[] = [];
    d.workspaces.forEach((w, n) => {
      const earlier = d.workspaces.slice(0, n);
      if (earlier.some((e) => e.name.toLowerCase() === w.name.toLowerCase())) problems.push(`${where(['workspaces', n, 'name'])}: "${w.name}" is the name of an earlier workspace`);
      if (earlier.some((e) => sameWorkspace(e, w))) problems.push(`${where(['workspaces', n, 'workspaceName'])}: this workspace is listed earlier`);
    });
    return problems;
  });
  return data.workspaces;
}

export const loadWorkspaces = (path: string): Workspace[] => parseWorkspaces(readConfigFile('VIGIL_WORKSPACES_FILE', path), path);

/** The single-workspace settings (SENTINEL_*) as a one-entry list; its incidents carry no short name, as before. */
export const singleWorkspace = (s: WorkspaceRef & { workspaceId: string; tenantId?: string }): Workspace => ({
  subscriptionId: s.subscriptionId,
  resourceGroup: s.resourceGroup,
  workspaceName: s.workspaceName,
  workspaceId: s.workspaceId,
  tenantId: s.tenantId,
  channels: [],
});

/** What people call a workspace: its short name, or its own name where it has none. */
export const workspaceLabel = (w: Pick<Workspace, 'name' | 'workspaceName'>): string => w.name ?? w.workspaceName;

/** What chat calls the workspace of a stored incident: its short name, its workspace's name, or `defender` for Graph's own. */
export function workspaceLabelOf(incident: Pick<Incident, 'id' | 'workspace' | 'writeBack'>): string {
  return incident.workspace ?? workspaceOfIncidentId(incident.id)?.workspaceName ?? (incident.writeBack === 'graph' ? 'defender' : 'unknown');
}

/** Whether `incident` belongs to the workspace people call `label` (any case): its short name or its Log Analytics name. */
export function incidentInWorkspace(incident: Pick<Incident, 'id' | 'workspace' | 'writeBack'>, label: string): boolean {
  const l = label.toLowerCase();
  return [incident.workspace, workspaceOfIncidentId(incident.id)?.workspaceName, workspaceLabelOf(incident)].some((n) => n?.toLowerCase() === l);
}

/** The workspaces file's channels as pinned routes: each listed channel gets its workspace's incidents. */
export const pinnedRoutesOf = (workspaces: Workspace[]): Array<{ conversationId: string; rule: string }> =>
  workspaces.flatMap((w) => (w.name ? w.channels.map((conversationId) => ({ conversationId, rule: `workspace=${w.name}` })) : []));

/** The one-workspace settings the Sentinel client, the poller and KQL take. */
export const sentinelOf = (w: Workspace) => ({ subscriptionId: w.subscriptionId, resourceGroup: w.resourceGroup, workspaceName: w.workspaceName, workspaceId: w.workspaceId });
