import fs from 'node:fs';
import path from 'node:path';
import { parseActionPolicy } from '../../src/actions/action-policy';

const GROUP = '0b1d3c5e-0000-4000-8000-00000000050c';

describe('the action policy file', () => {
  it('reads the demo policy: defaults per kind, overrides, guardrails with single addresses as ranges', () => {
    const p = parseActionPolicy(fs.readFileSync(path.resolve(__dirname, '../../demo/actions.yaml'), 'utf8'));
    expect(p.kinds['block-ip']).toEqual({ requesterGroups: [GROUP], requesterUsers: [], approverGroups: [GROUP], approverUsers: [], approvals: 1, expiresAfterMinutes: 60 });
    expect(p.kinds['add-indicator'].approvals).toBe(0);
    expect(p.kinds['disable-user'].expiresAfterMinutes).toBe(30);
    expect(p.guardrails.maxActionsPerHour).toBe(30);
    expect(parseActionPolicy('guardrails: { ownRanges: ["192.0.2.7"] }').guardrails.ownRanges).toEqual(['192.0.2.7/32']);
  });

  it('defaults to closed: with no requesters nobody may ask, and no one approves', () => {
    const p = parseActionPolicy('{}');
    expect(p.kinds['block-ip']).toMatchObject({ requesterGroups: [], requesterUsers: [], approverGroups: [], approverUsers: [], approvals: 1 });
  });

  it('names the line of every problem at once', () => {
    const text = ['defaults:', `  requesters: { groups: ["${GROUP}"] }`, '  approvals: 9', 'kinds:', '  nuke-site: {}', 'guardrails:', '  ownRanges: ["10.0.0.0/33"]'].join('\n');
    expect(() => parseActionPolicy(text, 'actions.yaml')).toThrow(
      /actions\.yaml line 3: defaults\.approvals: .*\n.*actions\.yaml line 5: kinds: .*nuke-site.*\n.*actions\.yaml line 7: guardrails\.ownRanges\.0: must be an IP address or a CIDR range/s,
    );
  });

  it('refuses a kind that needs approvals but names no approver', () => {
    expect(() => parseActionPolicy(`defaults:\n  requesters: { users: ["a1b2c3d4-0000-4000-8000-000000000020"] }\n`, 'p.yaml')).toThrow(
      /p\.yaml line 2: defaults: Block IP needs approvals but names no approvers/,
    );
  });

  it('treats only the documentation ranges as public, so no policy can open private space to blocking', () => {
    expect(parseActionPolicy('guardrails: { treatAsPublic: ["203.0.113.0/24", "192.0.2.9", "2001:db8:1::/48"] }').guardrails.treatAsPublic).toEqual([
      '203.0.113.0/24',
      '192.0.2.9/32',
      '2001:db8:1::/48',
    ]);
    expect(() => parseActionPolicy('guardrails:\n  treatAsPublic: ["10.0.0.0/8"]\n', 'p.yaml')).toThrow(/p\.yaml line 2: guardrails\.treatAsPublic\.0: only the documentation ranges/);
    expect(() => parseActionPolicy('guardrails:\n  treatAsPublic: ["203.0.0.0/8"]\n', 'p.yaml')).toThrow(/only the documentation ranges/);
  });

  it('reads protected names in NFKC and refuses one holding an invisible character', () => {
    expect(parseActionPolicy('guardrails: { protectedAccounts: ["ｂｒｅａｋｇｌａｓｓ@contoso.example"], protectedVms: ["ＤＣ-01"] }').guardrails).toMatchObject({
      protectedAccounts: ['breakglass@contoso.example'],
      protectedVms: ['DC-01'],
    });
    expect(() => parseActionPolicy('guardrails:\n  protectedAccounts: ["break\\u200bglass@contoso.example"]\n', 'p.yaml')).toThrow(
      /p\.yaml line 2: guardrails\.protectedAccounts\.0: holds a character nobody can see \(U\+200B ZERO WIDTH SPACE\)/,
    );
  });
});
