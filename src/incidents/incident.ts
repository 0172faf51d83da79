/** Vigil's one incident type: what every ingest path (webhook, poller, REST) parses into. */

export const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ['New', 'Active', 'Closed'] as const;
export type Status = (typeof STATUSES)[number];

export type EntityKind = 'ip' | 'account' | 'host' | 'filehash' | 'url' | 'domain' | 'file' | 'process' | 'mailbox' | 'cloudapp' | 'azureresource' | 'other';

export interface Entity {
  kind: EntityKind;
  /** The indicator itself: an address, a UPN or account name, a host name, a hash, a URL. */
  value: string;
  /** Extra facts Sentinel sent with the entity (algorithm, object id, domain…), as strings. */
  details: Record<string, string>;
}

export interface Owner {
  name?: string;
  upn?: string;
  email?: string;
  objectId?: string;
}

/**
 * Which API an incident is written back through: Sentinel's SecurityInsights REST (by ARM id) or
 * Microsoft Graph security (a Defender XDR unified incident, by its Graph id).
 */
export type WriteBack = 'sentinel' | 'graph';

export interface Incident {
  /**
   * The incident's ARM id as Sentinel spells it, or its Graph id (`writeBack: 'graph'`); `key` is
   * what we store by: the ARM id lower-cased, or `graph:<id>`.
   */
  id: string;
  key: string;
  /** Absent on incidents stored before Graph was read: those are Sentinel's. */
  writeBack?: WriteBack;
  /**
   * The short name of the workspace it belongs to, from VIGIL_WORKSPACES_FILE; absent with the
   * single-workspace settings (SENTINEL_*), on Graph's unified incidents and on older rows.
   */
  workspace?: string;
  number: number;
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  classification?: string;
  /** Graph's determination (`multiStagedAttack`, `malware`…) beside its classification. */
  determination?: string;
  owner?: Owner;
  createdAt: string;
  lastModifiedAt?: string;
  firstActivityAt?: string;
  lastActivityAt?: string;
  etag?: string;
  /** A portal link we built or checked ourselves, never one taken unchecked from the payload. */
  url: string;
  /**
   * The same incident in the other portal, checked like `url`: the Defender portal's page of a
   * Sentinel incident (its `providerIncidentUrl`), or Sentinel's of a Graph incident that a
   * Sentinel incident was matched to (`xdrId`).
   */
  defenderUrl?: string;
  sentinelUrl?: string;
  /**
   * The Defender XDR incident id: a Graph incident's own, a Sentinel incident's `providerIncidentId`
   * when Defender XDR raised it. The same incident by the webhook and by Graph has one, and one card.
   */
  xdrId?: string;
  labels: string[];
  products: string[];
  tactics: string[];
  techniques: string[];
  alertCount: number;
  ruleIds: string[];
  entities: Entity[];
}

export const writeBackOf = (i: Incident): WriteBack => i.writeBack ?? 'sentinel';

/** Where people open the incident: the Defender portal for Graph's unified incidents, Sentinel's otherwise. */
export const portalNameOf = (i: Incident): string => (writeBackOf(i) === 'graph' ? 'Defender' : 'Sentinel');

/** Every portal the incident opens in: its own (`url`) first, then the other where known. */
export function portalLinksOf(i: Incident): Array<{ portal: 'Sentinel' | 'Defender'; url: string }> {
  const other = writeBackOf(i) === 'graph' ? i.sentinelUrl && { portal: 'Sentinel' as const, url: i.sentinelUrl } : i.defenderUrl && { portal: 'Defender' as const, url: i.defenderUrl };
  return [{ portal: portalNameOf(i) as 'Sentinel' | 'Defender', url: i.url }, ...(other && other.url !== i.url ? [other] : [])];
}

/**
 * How chat and cards name an incident by its number: `contoso/1041` when it carries a workspace's
 * short name (VIGIL_WORKSPACES_FILE), where two workspaces may both have a 1041; `#1041` otherwise.
 * `incident contoso/1041` and every other command take it back as it is written.
 */
export const incidentRef = (i: Pick<Incident, 'number' | 'workspace'>): string => (i.workspace ? `${i.workspace}/${i.number}` : `#${i.number}`);

/** The Log Analytics workspace a Sentinel incident belongs to, as its ARM id names it. */
export interface WorkspaceRef {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
}

const WORKSPACE_OF_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.OperationalInsights\/workspaces\/([^/]+)\//i;

/** The workspace in an incident's ARM id (undefined if the id names none). */
export function workspaceOfIncidentId(armId: string): WorkspaceRef | undefined {
  const m = WORKSPACE_OF_ID.exec(armId);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, workspaceName: m[3]! } : undefined;
}

/** Azure compares these names case-insensitively, and so do we. */
export const sameWorkspace = (a: WorkspaceRef, b: WorkspaceRef): boolean =>
  a.subscriptionId.toLowerCase() === b.subscriptionId.toLowerCase() &&
  a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase() &&
  a.workspaceName.toLowerCase() === b.workspaceName.toLowerCase();

export const describeWorkspace = (w: WorkspaceRef): string => `${w.workspaceName} (resource group ${w.resourceGroup}, subscription ${w.subscriptionId})`;
