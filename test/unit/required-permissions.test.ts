import { parseActionPolicy } from '../../src/actions/action-policy';
import { loadConfig } from '../../src/config';
import { FEATURES, missingRoles, requiredRoles, type RequiredRole } from '../../src/deploy/required-permissions';

const MI = { AZURE_USE_MANAGED_IDENTITY: 'true', AZURE_CLIENT_ID: '2f0d7c44-5b1e-4d0a-9e53-00000000a001' };
const USER = 'a1b2c3d4-0000-4000-8000-000000000023';
const GROUP = '0b1d3c5e-0000-4000-8000-00000000050c';
const WRITE_ROLES = ['User.EnableDisableAccount.All', 'User.RevokeSessions.All', 'User.ReadWrite.All', 'Machine.Isolate', 'Ti.ReadWrite', 'Ti.ReadWrite.All', 'Directory.ReadWrite.All'];

const names = (roles: RequiredRole[]) => roles.map((r) => `${r.api}:${r.role}`).sort();
/** A policy where only `kinds` may be requested, by a listed user, with no approvals. */
const onlyKinds = (...kinds: string[]) => parseActionPolicy(`kinds:\n${kinds.map((k) => `  ${k}: { requesters: { users: ["${USER}"] }, approvals: 0 }`).join('\n') || '  {}'}\n`);
const withActions = loadConfig({ ...MI, VIGIL_ACTION_POLICY_FILE: './actions.yaml' });

describe('the app roles the enabled features need', () => {
  it('asks for nothing without Graph or Defender', () => {
    expect(requiredRoles(loadConfig({}))).toEqual([]);
  });

  it('gives enrichment read roles only', () => {
    const roles = requiredRoles(loadConfig(MI));
    expect(names(roles)).toEqual(['defender:Machine.Read.All', 'graph:IdentityRiskyUser.Read.All', 'graph:RoleManagement.Read.Directory', 'graph:User.Read.All']);
    expect(roles.filter((r) => WRITE_ROLES.includes(r.role))).toEqual([]);
  });

  it('adds exactly its own roles for Disable user, Isolate VM and Block file hash', () => {
    const none = names(requiredRoles(withActions, onlyKinds()));
    const added = (kind: string) => names(requiredRoles(withActions, onlyKinds(kind))).filter((r) => !none.includes(r));
    expect(added('disable-user')).toEqual(['graph:User.EnableDisableAccount.All', 'graph:User.RevokeSessions.All']);
    expect(added('isolate-vm')).toEqual(['defender:Machine.Isolate']);
    expect(added('block-hash')).toEqual(['defender:Ti.ReadWrite']);
    expect(added('block-ip')).toEqual([]);
    expect(added('add-indicator')).toEqual([]);
  });

  it('needs group reads only when a policy or the responder list names groups', () => {
    expect(names(requiredRoles(withActions, onlyKinds('block-ip')))).not.toContain('graph:GroupMember.Read.All');
    const grouped = parseActionPolicy(`defaults:\n  requesters: { groups: ["${GROUP}"] }\n  approvals: 0\n`);
    expect(names(requiredRoles(withActions, grouped))).toContain('graph:GroupMember.Read.All');
    expect(names(requiredRoles(loadConfig({ ...MI, VIGIL_RESPONDER_GROUP_IDS: GROUP })))).toContain('graph:GroupMember.Read.All');
    // Users listed by id need no Graph call at all.
    expect(names(requiredRoles(loadConfig({ ...MI, VIGIL_RESPONDER_USER_IDS: USER })))).not.toContain('graph:GroupMember.Read.All');
  });

  it('assumes every executor is on when the policy is not known', () => {
    expect(names(requiredRoles(withActions))).toEqual(
      expect.arrayContaining(['graph:User.EnableDisableAccount.All', 'graph:User.RevokeSessions.All', 'graph:GroupMember.Read.All', 'defender:Machine.Isolate', 'defender:Ti.ReadWrite']),
    );
  });

  it('lists each role once, with every feature that needs it and why', () => {
    const roles = requiredRoles(withActions);
    expect(new Set(names(roles)).size).toBe(roles.length);
    const userRead = roles.find((r) => r.role === 'User.Read.All')!;
    expect(userRead.neededBy.map((n) => n.feature)).toEqual(['Entra ID user enrichment', 'Action requester and approver groups', 'Disable user']);
    for (const r of roles) for (const n of r.neededBy) expect(n.why.length).toBeGreaterThan(10);
  });

  it('leaves out a role a broader required one covers (paging look-ups under User.Read.All)', () => {
    const paging = loadConfig({ ...MI, VIGIL_ONCALL_FILE: './oncall.yaml' });
    expect(names(requiredRoles(paging))).not.toContain('graph:User.ReadBasic.All');
    expect(FEATURES.find((f) => f.name.startsWith('Paging'))!.roles.map((r) => r.role)).toEqual(['User.ReadBasic.All']);
  });

  it('counts a broader granted role as covering a narrower need', () => {
    const roles = requiredRoles(loadConfig(MI));
    expect(missingRoles(roles, 'graph', ['Directory.Read.All', 'IdentityRiskyUser.Read.All'])).toEqual([]);
    expect(missingRoles(roles, 'graph', ['User.Read.All']).map((r) => r.role)).toEqual(['RoleManagement.Read.Directory', 'IdentityRiskyUser.Read.All']);
    expect(missingRoles(roles, 'defender', ['Machine.ReadWrite.All'])).toEqual([]);
    expect(missingRoles(roles, 'defender', [])).toHaveLength(1);
  });
});
