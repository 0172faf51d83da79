import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { parseWorkspaces } from '../../src/workspaces/workspaces';

const FILE = `workspaces:
  - name: contoso
    subscriptionId: 00000000-0000-0000-0000-000000000000
    resourceGroup: soc-rg
    workspaceName: soc-workspace
    workspaceId: 00000000-0000-0000-0000-000000000001
    tenantId: b28fdbfd-2b78-4f93-b0f8-8881793f0f8f
  - name: fabrikam
    subscriptionId: 11111111-0000-0000-0000-000000000000
    resourceGroup: fabrikam-rg
    workspaceName: fabrikam-ws
    workspaceId: 11111111-0000-0000-0000-000000000001
    channels: ['19:abc@thread.tacv2']
`;

describe('the workspaces file (VIGIL_WORKSPACES_FILE)', () => {
  it('lists each workspace with its short name, tenant and channels', () => {
    const [contoso, fabrikam] = parseWorkspaces(FILE);
    expect(contoso).toEqual({
      name: 'contoso',
      subscriptionId: '00000000-0000-0000-0000-000000000000',
      resourceGroup: 'soc-rg',
      workspaceName: 'soc-workspace',
      workspaceId: '00000000-0000-0000-0000-000000000001',
      tenantId: 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f',
      channels: [],
    });
    expect(fabrikam).toMatchObject({ name: 'fabrikam', channels: ['19:abc@thread.tacv2'] });
    expect(fabrikam!.tenantId).toBeUndefined();
  });

  it('names the line and field of every problem at once', () => {
    const broken = FILE.replace('workspaceId: 11111111-0000-0000-0000-000000000001', 'workspaceId: fabrikam')
      .replace('name: fabrikam', 'name: Contoso')
      .replace('    channels:', '    colour: red\n    channels:');
    expect(() => parseWorkspaces(broken, 'workspaces.yaml')).toThrow(/workspaces\.yaml line 8: workspaces\.1.*Unrecognized key.*colour/s);
    expect(() => parseWorkspaces(broken, 'workspaces.yaml')).toThrow(/workspaces\.yaml line 12: workspaces\.1\.workspaceId: must be a GUID/);
    expect(() => parseWorkspaces(FILE.replace('name: fabrikam', 'name: CONTOSO'), 'workspaces.yaml')).toThrow(
      'workspaces.yaml line 8: workspaces.1.name: "CONTOSO" is the name of an earlier workspace',
    );
    expect(() =>
      parseWorkspaces(FILE.replace('fabrikam-rg', 'SOC-RG').replace('fabrikam-ws', 'soc-workspace').replace('11111111-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000'), 'w.yaml'),
    ).toThrow('w.yaml line 11: workspaces.1.workspaceName: this workspace is listed earlier');
    expect(() => parseWorkspaces(FILE.replace('name: contoso', 'name: contoso/eu'), 'w.yaml')).toThrow(/w\.yaml line 2: workspaces\.0\.name: must be 1–32 letters/);
    expect(() => parseWorkspaces('workspaces: []', 'w.yaml')).toThrow('w.yaml line 1: workspaces: lists no workspace');
    expect(() => parseWorkspaces('workspaces: [\n', 'w.yaml')).toThrow(/w\.yaml is not valid YAML/);
  });

  it('is read at start-up; without it the SENTINEL_* workspace is the one entry', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-workspaces-'));
    const file = path.join(dir, 'workspaces.yaml');
    fs.writeFileSync(file, FILE);
    const config = loadConfig({ VIGIL_WORKSPACES_FILE: file, SENTINEL_WORKSPACE_NAME: 'ignored' });
    expect(config.workspaces.map((w) => w.name)).toEqual(['contoso', 'fabrikam']);
    // The Sentinel client still serves one workspace: the file's first.
    expect(config.sentinel).toMatchObject({ workspaceName: 'soc-workspace', workspaceId: '00000000-0000-0000-0000-000000000001' });
    fs.writeFileSync(file, FILE.replace('soc-rg', '""'));
    expect(() => loadConfig({ VIGIL_WORKSPACES_FILE: file })).toThrow(/line 4: workspaces\.0\.resourceGroup: must not be empty/);
    expect(() => loadConfig({ VIGIL_WORKSPACES_FILE: path.join(dir, 'missing.yaml') })).toThrow(/VIGIL_WORKSPACES_FILE: cannot read .*missing\.yaml \(ENOENT\)/);
    expect(loadConfig({ SENTINEL_WORKSPACE_NAME: 'soc-workspace' }).workspaces).toEqual([
      {
        subscriptionId: '00000000-0000-0000-0000-000000000000',
        resourceGroup: 'soc-rg',
        workspaceName: 'soc-workspace',
        workspaceId: '00000000-0000-0000-0000-000000000001',
        tenantId: undefined,
        channels: [],
      },
    ]);
  });
});
