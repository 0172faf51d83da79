import { channelOfConversation, isGuid, isIncidentResourceId, isNsgResourceId, isUpn, isUserId, isVmResourceId, threadOf } from '../../src/ids';

describe('identifier shapes', () => {
  it.each([
    ['5F0C6A1E-2B7D-4E1A-9C3D-000000000099', true],
    ['5f0c6a1e-2b7d-4e1a-9c3d-000000000099', true],
    ['5f0c6a1e-2b7d-4e1a-9c3d-00000000009', false],
    ['5f0c6a1e2b7d4e1a9c3d000000000099', false],
    [' 5f0c6a1e-2b7d-4e1a-9c3d-000000000099', false],
  ])('GUID %s: %s', (id, ok) => expect(isGuid(id)).toBe(ok));

  it.each([
    ['alice@contoso.com', true],
    ["o'brien+soc@sub.contoso.onmicrosoft.com", true],
    ['alice@contoso', false],
    ['alice@contoso.', false],
    ['alice@@contoso.com', false],
    ['alice smith@contoso.com', false],
    ['alice@contoso.com/manager', false],
    ['../users@contoso.com', false],
    ['alice@contoso.com?$select=id', false],
    ['alice@contoso.com#x', false],
    ['a\\b@contoso.com', false],
    [`${'a'.repeat(114)}@contoso.com`, false],
    [`a@${'b'.repeat(252)}.com`, false],
  ])('UPN %s: %s', (upn, ok) => expect(isUpn(upn)).toBe(ok));

  it('names a user to Graph by object id or UPN', () => {
    expect(isUserId('5f0c6a1e-2b7d-4e1a-9c3d-000000000099')).toBe(true);
    expect(isUserId('alice@contoso.com')).toBe(true);
    expect(isUserId('alice')).toBe(false);
  });

  it('tells ARM resource ids apart by their provider', () => {
    const rg = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-rg/providers';
    expect(isVmResourceId(`${rg}/Microsoft.Compute/virtualMachines/web-01`)).toBe(true);
    expect(isVmResourceId(`${rg}/Microsoft.Compute/virtualMachines/web-01/extensions/x`)).toBe(false);
    expect(isNsgResourceId(`${rg}/Microsoft.Network/networkSecurityGroups/isolate`)).toBe(true);
    expect(isNsgResourceId(`${rg}/Microsoft.Compute/virtualMachines/web-01`)).toBe(false);
    expect(isIncidentResourceId(`${rg}/Microsoft.OperationalInsights/workspaces/soc/providers/Microsoft.SecurityInsights/incidents/abc-1`)).toBe(true);
    expect(isIncidentResourceId(`${rg}/Microsoft.OperationalInsights/workspaces/soc/providers/Microsoft.SecurityInsights/incidents/../x`)).toBe(false);
  });

  it('takes a channel thread back to its channel', () => {
    const thread = threadOf('19:abc@thread.tacv2', '1700000000000');
    expect(thread).toBe('19:abc@thread.tacv2;messageid=1700000000000');
    expect(channelOfConversation(thread)).toBe('19:abc@thread.tacv2');
    expect(channelOfConversation('a:1on1')).toBe('a:1on1');
  });
});
