import { checkRate, checkTarget, type Guardrails } from '../../src/actions/guardrails';
import { decideApproval, type ActionRecord, type KindPolicy } from '../../src/actions/approval-policy';

const guardrails: Guardrails = {
  ownRanges: ['20.50.0.0/16', '2a01:111::/32'],
  protectedAccounts: ['breakglass@contoso.example', '5f0c6a1e-2b7d-4e1a-9c3d-000000000099'],
  protectedVms: ['dc-01'],
  maxActionsPerHour: 20,
};

describe('guardrails', () => {
  it.each([
    ['8.8.8.8', true, ''],
    ['2606:4700::1111', true, ''],
    ['0.0.0.0/0', false, 'single addresses, not ranges'],
    ['203.0.113.0/24', false, 'single addresses, not ranges'],
    ['10.1.2.3', false, 'private address'],
    ['192.168.0.10', false, 'private address'],
    ['127.0.0.1', false, 'loopback address'],
    ['100.64.0.5', false, 'carrierGradeNat address'],
    ['169.254.169.254', false, 'linkLocal address'],
    ['::ffff:10.0.0.1', false, 'private address'],
    ['fd12::1', false, 'uniqueLocal address'],
    ['203.0.113.66', false, 'reserved address'],
    ['20.50.3.4', false, 'our own address space'],
    ['2a01:111:f00::1', false, 'our own address space'],
    ['not-an-ip', false, 'is not an IP address'],
  ])('block %s → allowed %s', (ip, allowed, reason) => {
    const v = checkTarget({ kind: 'block-ip', ip }, guardrails);
    expect(v.allowed).toBe(allowed);
    if (!v.allowed) expect(v.reason).toContain(reason);
  });

  it('treats documentation ranges as public only where configured (the sandbox)', () => {
    expect(checkTarget({ kind: 'block-ip', ip: '203.0.113.66' }, { ...guardrails, treatAsPublic: ['203.0.113.0/24'] })).toEqual({ allowed: true });
  });

  it.each([
    [{ kind: 'disable-user', user: 'BreakGlass@contoso.example' }, false],
    [{ kind: 'disable-user', user: '5F0C6A1E-2B7D-4E1A-9C3D-000000000099' }, false],
    [{ kind: 'disable-user', user: 'admin.jane@contoso.example' }, true],
    [{ kind: 'isolate-vm', host: 'DC-01.contoso.example' }, false],
    [{ kind: 'isolate-vm', host: 'web-01.contoso.example' }, true],
    [{ kind: 'block-hash', hash: 'd41d8cd98f00b204e9800998ecf8427e', algorithm: 'SHA256' }, false],
    [{ kind: 'block-hash', hash: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', algorithm: 'SHA256' }, true],
    [{ kind: 'add-indicator', indicator: '10.0.0.8', type: 'ip' }, false],
    [{ kind: 'add-indicator', indicator: 'malware.example', type: 'domain' }, true],
  ] as const)('%j → allowed %s', (target, allowed) => {
    expect(checkTarget(target, guardrails).allowed).toBe(allowed);
  });

  it('compares canonical forms: a resolved account is protected by its object id or its UPN; fullwidth and hidden characters do not slip past', () => {
    // The card named the account by object id; Graph said its UPN is the break-glass one.
    expect(checkTarget({ kind: 'disable-user', user: '5f0c6a1e-2b7d-4e1a-9c3d-0000000000bb', upn: 'BreakGlass@contoso.example' }, guardrails)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('breakglass@contoso.example is a protected account'),
    });
    // Listed by object id, asked for by UPN (and resolved).
    expect(checkTarget({ kind: 'disable-user', user: '5f0c6a1e-2b7d-4e1a-9c3d-000000000099', upn: 'ops@contoso.example' }, guardrails).allowed).toBe(false);
    expect(checkTarget({ kind: 'disable-user', user: 'ｂｒｅａｋｇｌａｓｓ＠ｃｏｎｔｏｓｏ．ｅｘａｍｐｌｅ' }, guardrails).allowed).toBe(false);
    expect(checkTarget({ kind: 'disable-user', user: 'break\u200bglass@contoso.example' }, guardrails)).toMatchObject({ allowed: false, reason: expect.stringContaining('U+200B ZERO WIDTH SPACE') });
    expect(checkTarget({ kind: 'isolate-vm', host: 'ｄｃ－０１.contoso.example' }, guardrails).allowed).toBe(false);
    expect(checkTarget({ kind: 'isolate-vm', host: 'dc-01' }, { ...guardrails, protectedVms: ['DC-01.contoso.example'] }).allowed).toBe(false);
    expect(checkTarget({ kind: 'block-ip', ip: '２０.５０.３.４' }, guardrails)).toMatchObject({ allowed: false, reason: '20.50.3.4 is in our own address space' });
    // The policy's own list is read the same way.
    expect(checkTarget({ kind: 'disable-user', user: 'admin@contoso.example' }, { ...guardrails, protectedAccounts: ['ＡＤＭＩＮ@contoso.example'] }).allowed).toBe(false);
  });

  it('stops at the hourly limit', () => {
    expect(checkRate(19, guardrails)).toEqual({ allowed: true });
    expect(checkRate(20, guardrails)).toMatchObject({ allowed: false, reason: expect.stringContaining('the limit is 20') });
  });
});

describe('approvals', () => {
  const policy: KindPolicy = { requesterGroups: [], requesterUsers: [], approverGroups: [], approverUsers: [], approvals: 2, expiresAfterMinutes: 30 };
  const now = new Date('2026-11-24T03:00:00Z');
  const action = (changes: Partial<ActionRecord> = {}): ActionRecord => ({
    kind: 'block-ip',
    state: 'requested',
    requestedBy: 'alice',
    approvals: [],
    expiresAt: new Date('2026-11-24T03:30:00Z'),
    ...changes,
  });

  it.each([
    ['a first approver', action(), 'bob', true, { allowed: true, completes: false }],
    ['the second approver', action({ approvals: ['bob'] }), 'carol', true, { allowed: true, completes: true }],
    ['the requester (four-eyes)', action({ approvals: ['bob'] }), 'Alice', true, { allowed: false, reason: expect.stringContaining('four-eyes') }],
    ['the same approver twice', action({ approvals: ['bob'] }), 'BOB', true, { allowed: false, reason: expect.stringContaining('already approved') }],
    ['someone outside the approver groups', action(), 'mallory', false, { allowed: false, reason: 'you are not an approver for Block IP' }],
    ['an expired request', action({ expiresAt: now }), 'bob', true, { allowed: false, reason: expect.stringContaining('expired') }],
    ['a request already running', action({ state: 'running' }), 'bob', true, { allowed: false, reason: 'this request is already running' }],
  ])('%s', (_name, a, actor, isApprover, expected) => {
    expect(decideApproval(a, actor, isApprover, policy, now)).toEqual(expected);
  });
});
