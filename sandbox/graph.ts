import { startStandIn, type StandIn } from './stand-in';

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
  { id: '5f0c6a1e-2b7d-4e1a-9c3d-000000000002', displayName: 'Bob Risky', userPrincipalName: 'bob.risky@contoso.example', jobTitle: 'Sales', department: 'Sales', accountEnabled: true, riskLevel: 'high' },
  { id: 'a1b2c3d4-0000-4000-8000-000000000020', displayName: 'Alex Wilber', userPrincipalName: 'alexw@example.com', jobTitle: 'SOC Analyst', department: 'Security', accountEnabled: true, groups: ['0b1d3c5e-0000-4000-8000-00000000050c'] },
  { id: '7faf8ab2-3d56-4244-b585-20c8a42ed2b8', displayName: 'Megan Bowen', userPrincipalName: 'megan.bowen@contoso.example', jobTitle: 'SOC Analyst', department: 'Security', accountEnabled: true, groups: ['0b1d3c5e-0000-4000-8000-00000000050c'] },
];

const error = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message, innerError: { 'request-id': '00000000-0000-0000-0000-000000000000', date: new Date().toISOString() } } },
});

/**
 * Microsoft Graph v1.0 for the calls Vigil makes: users (by id or UPN, honouring `$select`), manager,
 * directory roles, risky users, checkMemberGroups; errors in Graph's envelope.
 */
export async function startGraph(options: { port?: number; users?: SandboxUser[] } = {}): Promise<StandIn & { users: SandboxUser[] }> {
  const users = options.users ?? SANDBOX_USERS.map((u) => ({ ...u }));
  const find = (id: string) => users.find((u) => u.id === id || u.userPrincipalName.toLowerCase() === id.toLowerCase());
  const missing = (id: string) => error(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  const select = (u: SandboxUser, query: Record<string, string>) => {
    const all: Record<string, unknown> = { id: u.id, displayName: u.displayName, userPrincipalName: u.userPrincipalName, jobTitle: u.jobTitle, department: u.department, accountEnabled: u.accountEnabled };
    const fields = query.$select?.split(',');
    return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', ...(fields ? Object.fromEntries(fields.map((f) => [f, all[f] ?? null])) : all) };
  };
  const standIn = await startStandIn(
    'graph',
    [
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
          return { status: 200, body: { id: u.id, userPrincipalName: u.userPrincipalName, userDisplayName: u.displayName, riskLevel: u.riskLevel, riskState: 'atRisk', riskDetail: 'none', riskLastUpdatedDateTime: '2026-11-24T01:00:00Z', isDeleted: false, isProcessing: false } };
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
    ],
    options,
  );
  return { ...standIn, users };
}
