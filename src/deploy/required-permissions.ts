import type { ActionKind } from '../actions/action-kinds';
import type { ActionPolicy } from '../actions/action-policy';
import type { Config } from '../config';

/** The two APIs whose application roles Vigil's identity needs; ARM and Log Analytics use Azure RBAC instead. */
export const RESOURCE_APPS = {
  graph: { appId: '00000003-0000-0000-c000-000000000000', name: 'Microsoft Graph' },
  defender: { appId: 'fc780465-2017-40d4-a0c5-307022471b92', name: 'WindowsDefenderATP' },
} as const;
export type ResourceApi = keyof typeof RESOURCE_APPS;

export interface RoleNeed {
  api: ResourceApi;
  role: string;
  /** What Vigil calls with it, as the API documents the permission for that call. */
  why: string;
}

export interface Feature {
  name: string;
  /** On when the settings (and the action policy, when one is given) turn the feature on. */
  enabled: (config: Config, policy?: ActionPolicy) => boolean;
  roles: RoleNeed[];
}

/** A kind of action is on when its executor has what it needs and the policy lets somebody request it. */
const actionOn = (config: Config, policy: ActionPolicy | undefined, kind: ActionKind) =>
  Boolean(config.actions) && (!policy || policy.kinds[kind].requesterGroups.length + policy.kinds[kind].requesterUsers.length > 0);

const policyNamesGroups = (policy: ActionPolicy | undefined) => !policy || Object.values(policy.kinds).some((k) => k.requesterGroups.length + k.approverGroups.length > 0);

const graph = (role: string, why: string): RoleNeed => ({ api: 'graph', role, why });
const defender = (role: string, why: string): RoleNeed => ({ api: 'defender', role, why });

/**
 * Every feature that calls Microsoft Graph or Defender for Endpoint as the app, with the least
 * privileged application role each call documents. Read from the code that makes the calls
 * (src/enrichment/providers, src/actions/executors, src/auth/membership.ts,
 * src/paging/resolve-person.ts, src/graph/graph-security-client.ts); a new call adds its role here, and nowhere else.
 */
export const FEATURES: Feature[] = [
  {
    name: 'Entra ID user enrichment',
    enabled: (c) => Boolean(c.enrichment.graph),
    roles: [
      graph('User.Read.All', 'GET /users/{id} (name, job, department, accountEnabled) and /users/{id}/manager'),
      graph(
        'RoleManagement.Read.Directory',
        'GET /users/{id}/memberOf/microsoft.graph.directoryRole: without it Graph returns the roles without their names or template ids, so a privileged user cannot be told apart',
      ),
      graph('IdentityRiskyUser.Read.All', 'GET /identityProtection/riskyUsers/{id} (Identity Protection risk level)'),
    ],
  },
  {
    name: 'Responder groups (kql command)',
    enabled: (c) => Boolean(c.enrichment.graph && c.enrichment.logs) && c.responders.groupIds.length > 0,
    roles: [
      graph('GroupMember.Read.All', 'POST /users/{id}/checkMemberGroups for VIGIL_RESPONDER_GROUP_IDS (documented with User.Read.All)'),
      graph('User.Read.All', 'POST /users/{id}/checkMemberGroups reads the user as well'),
    ],
  },
  {
    name: 'Action requester and approver groups',
    enabled: (c, p) => Boolean(c.enrichment.graph && c.actions) && policyNamesGroups(p),
    roles: [
      graph('GroupMember.Read.All', 'POST /users/{id}/checkMemberGroups for the groups the action policy names'),
      graph('User.Read.All', 'POST /users/{id}/checkMemberGroups reads the user as well'),
    ],
  },
  {
    name: 'Disable user',
    enabled: (c, p) => Boolean(c.enrichment.graph) && actionOn(c, p, 'disable-user'),
    roles: [
      graph('User.EnableDisableAccount.All', 'PATCH /users/{id} {accountEnabled} (and the Undo); Graph documents it together with User.Read.All'),
      graph('User.RevokeSessions.All', 'POST /users/{id}/revokeSignInSessions'),
      graph('User.Read.All', 'GET /users/{id} to resolve the account to its object id and UPN before acting; also documented alongside User.EnableDisableAccount.All'),
    ],
  },
  {
    name: 'Paging: on-call people named by UPN',
    enabled: (c) => Boolean(c.enrichment.graph && c.paging),
    roles: [graph('User.ReadBasic.All', 'GET /users/{upn}?$select=id,displayName to find who to page in Teams')],
  },
  {
    name: 'Defender unified incidents through Microsoft Graph',
    enabled: (c) => Boolean(c.enrichment.graph && c.graphPoller),
    roles: [
      graph(
        'SecurityIncident.ReadWrite.All',
        'GET /security/incidents?$expand=alerts (the poller), PATCH /security/incidents/{id} and POST /security/incidents/{id}/comments (write-back); Read.All would do for reading alone',
      ),
    ],
  },
  {
    name: 'Device enrichment (Defender for Endpoint)',
    enabled: (c) => Boolean(c.enrichment.device?.mdeEndpoint),
    roles: [defender('Machine.Read.All', 'GET /api/machines?$filter=computerDnsName and GET /api/machineactions (health, risk, isolation state)')],
  },
  {
    name: 'Isolate VM through Defender for Endpoint',
    enabled: (c, p) => Boolean(c.enrichment.device?.mdeEndpoint) && actionOn(c, p, 'isolate-vm'),
    roles: [
      defender('Machine.Isolate', 'POST /api/machines/{id}/isolate and /unisolate (the Undo)'),
      defender('Machine.Read.All', 'GET /api/machines to find the machine and GET /api/machineactions/{id} to follow the action'),
    ],
  },
  {
    name: 'Block file hash',
    enabled: (c, p) => Boolean(c.enrichment.device?.mdeEndpoint) && actionOn(c, p, 'block-hash'),
    roles: [defender('Ti.ReadWrite', 'POST /api/indicators and DELETE /api/indicators/{id} (the Undo), for indicators Vigil itself created')],
  },
];

/**
 * Roles that include another: holding one of these satisfies the need, so Vigil never asks for a
 * narrower role the identity's broader one already covers, nor for two where one will do.
 */
export const COVERED_BY: Record<string, string[]> = {
  'graph:User.ReadBasic.All': ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'graph:User.Read.All': ['User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  'graph:GroupMember.Read.All': ['Group.Read.All', 'Directory.Read.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  'graph:RoleManagement.Read.Directory': ['Directory.Read.All', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', 'Directory.ReadWrite.All'],
  'graph:IdentityRiskyUser.Read.All': ['IdentityRiskyUser.ReadWrite.All'],
  'graph:SecurityIncident.Read.All': ['SecurityIncident.ReadWrite.All'],
  'graph:User.EnableDisableAccount.All': ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  'graph:User.RevokeSessions.All': ['User.ReadWrite.All', 'Directory.ReadWrite.All'],
  'defender:Machine.Read.All': ['Machine.ReadWrite.All'],
  'defender:Ti.ReadWrite': ['Ti.ReadWrite.All'],
};

export interface RequiredRole {
  api: ResourceApi;
  role: string;
  /** Every enabled feature that needs it, and why. */
  neededBy: Array<{ feature: string; why: string }>;
}

const satisfies = (api: ResourceApi, need: string, held: string) => held === need || (COVERED_BY[`${api}:${need}`] ?? []).includes(held);

/**
 * The application roles the enabled features need, one entry per role, in table order. A role a
 * broader required role covers is left out (User.ReadBasic.All when User.Read.All is needed).
 * `policy`, when given, switches off the action kinds nobody may request.
 */
export function requiredRoles(config: Config, policy?: ActionPolicy): RequiredRole[] {
  const found = new Map<string, RequiredRole>();
  for (const feature of FEATURES) {
    if (!feature.enabled(config, policy)) continue;
    for (const need of feature.roles) {
      const key = `${need.api}:${need.role}`;
      const entry = found.get(key) ?? { api: need.api, role: need.role, neededBy: [] };
      entry.neededBy.push({ feature: feature.name, why: need.why });
      found.set(key, entry);
    }
  }
  const all = [...found.values()];
  return all.filter((r) => !all.some((other) => other !== r && other.api === r.api && satisfies(r.api, r.role, other.role)));
}

/** The required roles `granted` (role names, e.g. a token's `roles` claim) does not satisfy. */
export const missingRoles = (required: RequiredRole[], api: ResourceApi, granted: string[]): RequiredRole[] =>
  required.filter((r) => r.api === api && !granted.some((held) => satisfies(api, r.role, held)));
