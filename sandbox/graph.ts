import crypto from 'node:crypto';
import { dispatch, startStandIn, type Route, type StandIn } from './stand-in';

export interface SandboxUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  jobTitle: string | null;
  department: string | null;
  accountEnabled: boolean;
  manager?: string;
  roles?: Array<{ displayName: string; roleTemplateId: string }>;
  riskLevel?: 'low' | 'medium' | 'high';
  groups?: string[];
}

/** The demo directory: a privileged admin, a risky user, two analysts in the responder group. */
export const SANDBOX_USERS: SandboxUser[] = [
  {
    id: '5f0c6a1e-2b7d-4e1a-9c3d-000000000001',
    displayName: 'Jane Admin',
    userPrincipalName: 'admin.jane@contoso.example',
    jobTitle: 'IT Administrator',
    department: 'IT',
    accountEnabled: true,
    manager: 'Chris Manager',
    roles: [{ displayName: 'Global Administrator', roleTemplateId: '62e90394-69f5-4237-9190-012177145e10' }],
  },
  {
    id: '5f0c6a1e-2b7d-4e1a-9c3d-000000000002',
    displayName: 'Bob Risky',
    userPrincipalName: 'bob.risky@contoso.example',
    jobTitle: 'Sales',
    department: 'Sales',
    accountEnabled: true,
    riskLevel: 'high',
  },
  {
    id: 'a1b2c3d4-0000-4000-8000-000000000020',
    displayName: 'Alex Wilber',
    userPrincipalName: 'alexw@example.com',
    jobTitle: 'SOC Analyst',
    department: 'Security',
    accountEnabled: true,
    groups: ['0b1d3c5e-0000-4000-8000-00000000050c'],
  },
  {
    id: '7faf8ab2-3d56-4244-b585-20c8a42ed2b8',
    displayName: 'Megan Bowen',
    userPrincipalName: 'megan.bowen@contoso.example',
    jobTitle: 'SOC Analyst',
    department: 'Security',
    accountEnabled: true,
    groups: ['0b1d3c5e-0000-4000-8000-00000000050c'],
  },
];

/** An application role a resource's service principal publishes (Graph's appRole shape). */
export interface SandboxAppRole {
  id: string;
  value: string;
  displayName: string;
  description: string;
  allowedMemberTypes: string[];
  isEnabled: boolean;
  origin: 'Application';
}

export interface SandboxServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  servicePrincipalType: 'Application' | 'ManagedIdentity';
  appRoles: SandboxAppRole[];
}

export interface SandboxAppRoleAssignment {
  id: string;
  deletedDateTime: null;
  appRoleId: string;
  createdDateTime: string;
  principalDisplayName: string;
  principalId: string;
  principalType: 'ServicePrincipal';
  resourceDisplayName: string;
  resourceId: string;
}

const role = (id: string, value: string, displayName: string, description: string): SandboxAppRole => ({
  id,
  value,
  displayName,
  description,
  allowedMemberTypes: ['Application'],
  isEnabled: true,
  origin: 'Application',
});

/** Vigil's user-assigned managed identity in the sandbox tenant: its service principal holds the app roles. */
export const SANDBOX_IDENTITY = { objectId: '6b8f2e1d-0000-4000-8000-0000000f1d01', clientId: '2f0d7c44-5b1e-4d0a-9e53-0000000f1d01', displayName: 'vigil-identity' };

/**
 * The tenant's service principals for Microsoft Graph and WindowsDefenderATP with application
 * roles under their real ids (as the tenants' appRoles list them), and Vigil's identity.
 */
export const sandboxServicePrincipals = (): SandboxServicePrincipal[] => [
  {
    id: '7f3a1c2e-0000-4000-8000-00000000a003',
    appId: '00000003-0000-0000-c000-000000000000',
    displayName: 'Microsoft Graph',
    servicePrincipalType: 'Application',
    appRoles: [
      role('df021288-bdef-4463-88db-98f22de89214', 'User.Read.All', "Read all users' full profiles", 'Allows the app to read user profiles without a signed in user.'),
      role(
        '97235f07-e226-4f63-ace3-39588e11d3a1',
        'User.ReadBasic.All',
        "Read all users' basic profiles",
        'Allows the app to read a basic set of profile properties of other users in your organization without a signed-in user.',
      ),
      role('741f803b-c850-494e-b5df-cde7c675a1ca', 'User.ReadWrite.All', "Read and write all users' full profiles", 'Allows the app to read and update user profiles without a signed in user.'),
      role(
        '3011c876-62b7-4ada-afa2-506cbbecc68c',
        'User.EnableDisableAccount.All',
        'Enable and disable user accounts',
        "Allows the app to enable and disable users' accounts, without a signed-in user.",
      ),
      role(
        '77f3a031-c388-4f99-b373-dc68676a979e',
        'User.RevokeSessions.All',
        'Revoke all sign in sessions for a user',
        'Allows the app to revoke all sign in sessions for a user, without a signed-in user.',
      ),
      role(
        '98830695-27a2-44f7-8c18-0c3ebc9698f6',
        'GroupMember.Read.All',
        'Read all group memberships',
        'Allows the app to read memberships and basic group properties for all groups without a signed-in user.',
      ),
      role(
        '5b567255-7703-4780-807c-7be8301ae99b',
        'Group.Read.All',
        'Read all groups',
        'Allows the app to read group properties and memberships, and read conversations for all groups, without a signed-in user.',
      ),
      role(
        '7ab1d382-f21e-4acd-a863-ba3e13f7da61',
        'Directory.Read.All',
        'Read directory data',
        "Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user.",
      ),
      role(
        '483bed4a-2ad3-4361-a73b-c83ccdbdc53c',
        'RoleManagement.Read.Directory',
        'Read all directory RBAC settings',
        "Allows the app to read the role-based access control (RBAC) settings for your company's directory, without a signed-in user.",
      ),
      role(
        'dc5007c0-2d7d-4c42-879c-2dab87571379',
        'IdentityRiskyUser.Read.All',
        'Read all identity risky user information',
        'Allows the app to read the identity risky user information for your organization without a signed in user.',
      ),
      role('45cc0394-e837-488b-a098-1918f48d186c', 'SecurityIncident.Read.All', 'Read all security incidents', 'Allows the app to read all security incidents, without a signed-in user.'),
      role(
        '34bf0e97-1971-4929-b999-9e2442d941d7',
        'SecurityIncident.ReadWrite.All',
        'Read and write to all security incidents',
        'Allows the app to read and write to all security incidents, without a signed-in user.',
      ),
    ],
  },
  {
    id: '7f3a1c2e-0000-4000-8000-00000000d3fe',
    appId: 'fc780465-2017-40d4-a0c5-307022471b92',
    displayName: 'WindowsDefenderATP',
    servicePrincipalType: 'Application',
    appRoles: [
      role(
        'ea8291d3-4b9a-44b5-bc3a-6cea3026dc79',
        'Machine.Read.All',
        'Read all machine profiles',
        'Allows the app to read all machine profiles, including the commands that were sent to each machine',
      ),
      role(
        'aa027352-232b-4ed4-b963-a705fc4d6d2c',
        'Machine.ReadWrite.All',
        'Read and write all machine information',
        'Allows the app to create machine records and to read or update any machine record',
      ),
      role('7e4e1300-e1b9-4102-88ba-f0cb6e6d5974', 'Machine.Isolate', 'Isolate machine', 'Allows the app to isolate a machine'),
      role('a8bc2240-f96a-46a1-bad5-6a960b7327a1', 'Ti.ReadWrite', 'Read and write IOCs belonging to the app', 'Allows the app to create IOCs and to read or update IOCs it created'),
      role('fc511a58-3adf-4d71-af24-00f13e35e479', 'Ti.ReadWrite.All', 'Read and write all IOCs', 'Allows the app to manage all IOCs of the tenant'),
      role('71fe6b80-7034-4028-9ed8-0f316df9c3ff', 'Alert.Read.All', 'Read all alerts', 'Allows the app to read any alert'),
    ],
  },
  { id: SANDBOX_IDENTITY.objectId, appId: SANDBOX_IDENTITY.clientId, displayName: SANDBOX_IDENTITY.displayName, servicePrincipalType: 'ManagedIdentity', appRoles: [] },
];

const riskyUser = (u: SandboxUser) => ({
  id: u.id,
  userPrincipalName: u.userPrincipalName,
  userDisplayName: u.displayName,
  riskLevel: u.riskLevel,
  riskState: 'atRisk',
  riskDetail: 'none',
  riskLastUpdatedDateTime: '2026-11-24T01:00:00Z',
  isDeleted: false,
  isProcessing: false,
});

const error = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message, innerError: { 'request-id': '00000000-0000-0000-0000-000000000000', date: new Date().toISOString() } } },
});

/**
 * Microsoft Graph v1.0 for the calls Vigil makes: users (by id or UPN, honouring `$select`), manager,
 * directory roles, risky users, checkMemberGroups, and whatever `extraRoutes` add; errors in Graph's envelope.
 */
export async function startGraph(
  options: {
    port?: number;
    users?: SandboxUser[];
    servicePrincipals?: SandboxServicePrincipal[];
    assignmentPageSize?: number;
    /** More of Graph on the same endpoint (the security incidents of sandbox/graph-security.ts). */
    extraRoutes?: Route[];
  } = {},
): Promise<
  StandIn & {
    users: SandboxUser[];
    servicePrincipals: SandboxServicePrincipal[];
    appRoleAssignments: SandboxAppRoleAssignment[];
    /** The role names `principalId` holds on the resource with `resourceAppId`: what Entra ID puts in its tokens' `roles`. */
    rolesOf(principalId: string, resourceAppId: string): string[];
    /** The next `count` sub-requests of a `$batch` (those whose URL matches `url`) answer 429 with `Retry-After`. */
    throttleInBatch(count: number, retryAfterSeconds?: number, url?: RegExp): void;
  }
> {
  const users = options.users ?? SANDBOX_USERS.map((u) => ({ ...u }));
  const servicePrincipals = options.servicePrincipals ?? sandboxServicePrincipals();
  const appRoleAssignments: SandboxAppRoleAssignment[] = [];
  const sp = (id: string) => servicePrincipals.find((p) => p.id === id);
  const pageSize = options.assignmentPageSize ?? 100;
  const find = (id: string) => users.find((u) => u.id === id || u.userPrincipalName.toLowerCase() === id.toLowerCase());
  const missing = (id: string) => error(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  const select = (u: SandboxUser, query: Record<string, string>) => {
    const all: Record<string, unknown> = {
      id: u.id,
      displayName: u.displayName,
      userPrincipalName: u.userPrincipalName,
      jobTitle: u.jobTitle,
      department: u.department,
      accountEnabled: u.accountEnabled,
    };
    const fields = query.$select?.split(',');
    return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', ...(fields ? Object.fromEntries(fields.map((f) => [f, all[f] ?? null])) : all) };
  };
  /** Sub-requests of a `$batch` answered 429 (with `Retry-After`), one per count, optionally only those whose URL matches `url`. */
  const batchThrottle = { count: 0, retryAfterSeconds: 1, url: undefined as RegExp | undefined };
  const routes: Route[] = [
    { method: 'GET', path: '/v1.0/users/:id', handle: ({ params, query }) => (find(params.id!) ? { status: 200, body: select(find(params.id!)!, query) } : missing(params.id!)) },
    {
      method: 'GET',
      path: '/v1.0/users/:id/manager',
      handle: ({ params }) => {
        const u = find(params.id!);
        return u?.manager ? { status: 200, body: { '@odata.type': '#microsoft.graph.user', id: '00000000-0000-0000-0000-00000000aaaa', displayName: u.manager } } : missing('manager');
      },
    },
    {
      method: 'GET',
      path: '/v1.0/users/:id/memberOf/microsoft.graph.directoryRole',
      handle: ({ params }) => {
        const u = find(params.id!);
        if (!u) return missing(params.id!);
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#directoryRoles', value: (u.roles ?? []).map((r, n) => ({ id: `role-${n}`, ...r })) } };
      },
    },
    {
      method: 'GET',
      path: '/v1.0/identityProtection/riskyUsers/:id',
      handle: ({ params }) => {
        const u = find(params.id!);
        if (!u?.riskLevel) return missing(params.id!);
        return { status: 200, body: riskyUser(u) };
      },
    },
    {
      method: 'GET',
      path: '/v1.0/identityProtection/riskyUsers',
      handle: ({ query }) => {
        const filter = query.$filter?.trim();
        const m = filter ? /^(id|userPrincipalName) eq '((?:[^']|'')*)'$/.exec(filter) : null;
        if (filter && !m) return error(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified: '${filter}'.`);
        const wanted = m?.[2]!.replace(/''/g, "'").toLowerCase();
        const found = users.filter((u) => u.riskLevel && (!m || (m[1] === 'id' ? u.id : u.userPrincipalName).toLowerCase() === wanted));
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#identityProtection/riskyUsers', value: found.map(riskyUser) } };
      },
    },
    {
      method: 'PATCH',
      path: '/v1.0/users/:id',
      handle: ({ params, body }) => {
        const u = find(params.id!);
        if (!u) return missing(params.id!);
        const b = (body ?? {}) as { accountEnabled?: unknown };
        if (typeof b.accountEnabled !== 'boolean') return error(400, 'Request_BadRequest', 'Invalid value specified for property accountEnabled.');
        u.accountEnabled = b.accountEnabled;
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/v1.0/users/:id/revokeSignInSessions',
      handle: ({ params }) => (find(params.id!) ? { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean', value: true } } : missing(params.id!)),
    },
    {
      method: 'POST',
      path: '/v1.0/users/:id/checkMemberGroups',
      handle: ({ params, body }) => {
        const u = find(params.id!);
        if (!u) return missing(params.id!);
        const asked = (body as { groupIds?: string[] } | undefined)?.groupIds ?? [];
        if (asked.length > 20) return error(400, 'Request_BadRequest', 'Too many group ids: at most 20.');
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)', value: asked.filter((g) => (u.groups ?? []).includes(g)) } };
      },
    },
    {
      method: 'GET',
      path: '/v1.0/users',
      handle: ({ query }) => {
        const top = Math.min(Number(query.$top ?? 100), 999);
        return {
          status: 200,
          body: {
            '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users',
            value: users.slice(0, top).map((u) => {
              const { '@odata.context': _c, ...rest } = select(u, query);
              return rest;
            }),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1.0/servicePrincipals',
      handle: ({ query }) => {
        const filter = query.$filter?.trim();
        const m = filter ? /^(appId|displayName) eq '([^']*)'$/.exec(filter) : null;
        if (filter && !m) return error(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified: '${filter}'.`);
        const found = servicePrincipals.filter((p) => !m || p[m[1] as 'appId' | 'displayName'].toLowerCase() === m[2]!.toLowerCase());
        const fields = query.$select?.split(',');
        const value = found.map((p) => (fields ? Object.fromEntries(fields.map((f) => [f, (p as unknown as Record<string, unknown>)[f] ?? null])) : p));
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals', value } };
      },
    },
    {
      method: 'GET',
      path: '/v1.0/servicePrincipals/:id',
      handle: ({ params }) =>
        sp(params.id!) ? { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity', ...sp(params.id!) } } : missing(params.id!),
    },
    {
      method: 'GET',
      path: '/v1.0/servicePrincipals/:id/appRoleAssignments',
      handle: ({ params, query, headers }) => {
        if (!sp(params.id!)) return missing(params.id!);
        const mine = appRoleAssignments.filter((a) => a.principalId === params.id);
        const skip = Number(query.$skiptoken ?? 0);
        // The next page on the origin the caller used (an https front passes it on).
        const base = `${headers['x-forwarded-proto'] ?? 'http'}://${headers['x-forwarded-host'] ?? headers.host}`;
        const next = skip + pageSize < mine.length ? `${base}/v1.0/servicePrincipals/${params.id}/appRoleAssignments?$skiptoken=${skip + pageSize}` : undefined;
        return {
          status: 200,
          body: {
            '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('${params.id}')/appRoleAssignments`,
            value: mine.slice(skip, skip + pageSize),
            ...(next ? { '@odata.nextLink': next } : {}),
          },
        };
      },
    },
    {
      // Grants an app role; Graph refuses an unknown role, another principal's id and a repeat.
      method: 'POST',
      path: '/v1.0/servicePrincipals/:id/appRoleAssignments',
      handle: ({ params, body }) => {
        const principal = sp(params.id!);
        if (!principal) return missing(params.id!);
        const b = (body ?? {}) as { principalId?: string; resourceId?: string; appRoleId?: string };
        if (b.principalId !== params.id) return error(400, 'Request_BadRequest', 'The principalId in the request body must be the id of the service principal the assignment is created for.');
        const resource = b.resourceId ? sp(b.resourceId) : undefined;
        if (!resource) return error(404, 'Request_ResourceNotFound', `Resource '${b.resourceId ?? ''}' does not exist or one of its queried reference-property objects are not present.`);
        if (!resource.appRoles.some((r) => r.id === b.appRoleId && r.allowedMemberTypes.includes('Application'))) {
          return error(400, 'Request_BadRequest', `Permission being assigned was not found on application '${resource.appId}'.`);
        }
        if (appRoleAssignments.some((a) => a.principalId === params.id && a.resourceId === resource.id && a.appRoleId === b.appRoleId)) {
          return error(400, 'Request_BadRequest', 'Permission being assigned already exists on the object');
        }
        const assignment: SandboxAppRoleAssignment = {
          id: crypto.randomBytes(32).toString('base64url').slice(0, 43),
          deletedDateTime: null,
          appRoleId: b.appRoleId!,
          createdDateTime: new Date().toISOString(),
          principalDisplayName: principal.displayName,
          principalId: principal.id,
          principalType: 'ServicePrincipal',
          resourceDisplayName: resource.displayName,
          resourceId: resource.id,
        };
        appRoleAssignments.push(assignment);
        return { status: 201, body: { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('${principal.id}')/appRoleAssignments/$entity`, ...assignment } };
      },
    },
  ];
  routes.push(...(options.extraRoutes ?? []));
  routes.push({
    // JSON batching: up to 20 requests, each answered on its own (status, headers, body) in one reply.
    method: 'POST',
    path: '/v1.0/$batch',
    handle: async ({ body, headers }) => {
      const requests = (body as { requests?: Array<{ id?: unknown; method?: unknown; url?: unknown; body?: unknown; dependsOn?: unknown }> } | undefined)?.requests;
      if (!Array.isArray(requests) || requests.length === 0) return error(400, 'BadRequest', 'Invalid batch payload format.');
      if (requests.length > 20) return error(400, 'BadRequest', 'The number of batch requests exceeds the limit of 20.');
      const ids = requests.map((r) => r.id);
      if (ids.some((id) => typeof id !== 'string' || id === '') || new Set(ids).size !== ids.length) return error(400, 'BadRequest', 'Batch request ids must be unique, non-empty strings.');
      const responses = await Promise.all(
        requests.map(async (r) => {
          if (typeof r.method !== 'string' || typeof r.url !== 'string' || /^https?:/i.test(r.url))
            return { id: r.id, status: 400, body: error(400, 'BadRequest', 'Each batch request needs a method and a relative url.').body };
          const url = `/v1.0/${r.url.replace(/^\/+/, '')}`;
          if (batchThrottle.count > 0 && (!batchThrottle.url || batchThrottle.url.test(r.url))) {
            batchThrottle.count -= 1;
            return {
              id: r.id,
              status: 429,
              headers: { 'Retry-After': String(batchThrottle.retryAfterSeconds) },
              body: { error: { code: 'TooManyRequests', message: 'graph stand-in is throttling this request' } },
            };
          }
          const reply = await dispatch('graph', routes, { method: r.method.toUpperCase(), url, headers, body: r.body });
          return { id: r.id, status: reply.status, headers: { 'Content-Type': 'application/json', ...reply.headers }, ...(reply.body !== undefined ? { body: reply.body } : {}) };
        }),
      );
      return { status: 200, body: { responses } };
    },
  });
  const standIn = await startStandIn('graph', routes, options);
  return {
    ...standIn,
    throttleInBatch(count: number, retryAfterSeconds = 1, url?: RegExp) {
      Object.assign(batchThrottle, { count, retryAfterSeconds, url });
    },
    reset() {
      standIn.reset();
      batchThrottle.count = 0;
    },
    users,
    servicePrincipals,
    appRoleAssignments,
    rolesOf(principalId, resourceAppId) {
      const resource = servicePrincipals.find((p) => p.appId === resourceAppId);
      return appRoleAssignments.filter((a) => a.principalId === principalId && a.resourceId === resource?.id).map((a) => resource!.appRoles.find((r) => r.id === a.appRoleId)!.value);
    },
  };
}
