import { createNsgRuleRoutes } from './nsg-rules';
import { startStandIn, type Route, type StandIn } from './stand-in';

export const SANDBOX_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const RG = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/prod-rg/providers`;

export interface SandboxVm {
  name: string;
  /** Bumped by every NIC write: the NIC's etag. */
  nicVersion?: number;
  power: 'running' | 'deallocated' | 'stopped';
  nic: string;
  nsg: string | null;
  privateIp: string;
  tags?: Record<string, string>;
}

export const SANDBOX_VMS: SandboxVm[] = [
  { name: 'web-01', power: 'running', nic: 'web-01-nic', nsg: 'web-nsg', privateIp: '10.1.0.4', tags: { env: 'prod' } },
  { name: 'dc-01', power: 'running', nic: 'dc-01-nic', nsg: 'dc-nsg', privateIp: '10.1.0.10', tags: { 'vigil-protected': 'true' } },
];

export const vmId = (name: string) => `${RG}/Microsoft.Compute/virtualMachines/${name}`;
export const nicId = (name: string) => `${RG}/Microsoft.Network/networkInterfaces/${name}`;
export const nsgId = (name: string) => `${RG}/Microsoft.Network/networkSecurityGroups/${name}`;

const vmResource = (vm: SandboxVm) => ({
  id: vmId(vm.name),
  name: vm.name,
  type: 'Microsoft.Compute/virtualMachines',
  location: 'westeurope',
  tags: vm.tags ?? {},
  properties: { vmId: `vm-${vm.name}`, provisioningState: 'Succeeded', networkProfile: { networkInterfaces: [{ id: nicId(vm.nic) }] } },
});

const nicEtag = (vm: SandboxVm) => `W/"nic-${vm.name}-${vm.nicVersion ?? 0}"`;

const nicResource = (vm: SandboxVm) => ({
  name: vm.nic,
  etag: nicEtag(vm),
  id: nicId(vm.nic),
  location: 'westeurope',
  properties: {
    provisioningState: 'Succeeded',
    ipConfigurations: [{ name: 'ipconfig1', id: `${nicId(vm.nic)}/ipConfigurations/ipconfig1`, properties: { provisioningState: 'Succeeded', privateIPAddress: vm.privateIp, privateIPAllocationMethod: 'Dynamic', primary: true, privateIPAddressVersion: 'IPv4' } }],
    networkSecurityGroup: vm.nsg ? { id: nsgId(vm.nsg) } : undefined,
    virtualMachine: { id: vmId(vm.name) },
  },
});

const notFound = (type: string, name: string) => ({ status: 404, body: { error: { code: 'ResourceNotFound', message: `The Resource '${type}/${name}' under resource group 'prod-rg' was not found.` } } });
const needsVersion = (query: Record<string, string>) =>
  query['api-version'] ? undefined : { status: 400, body: { error: { code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.' } } };

/** Azure Resource Manager for VMs and NICs (reads), in ARM's shapes and error envelope. */
/** `extraRoutes` lets other resource providers (Sentinel) share the one ARM endpoint, as in Azure. */
export async function startArm(
  options: { port?: number; vms?: SandboxVm[]; extraRoutes?: Route[]; pollsPerOperation?: number } = {},
): Promise<StandIn & { vms: SandboxVm[]; nsgRules: ReturnType<typeof createNsgRuleRoutes>['rules']; nsgControl: ReturnType<typeof createNsgRuleRoutes>['control'] }> {
  const vms = options.vms ?? SANDBOX_VMS.map((v) => ({ ...v }));
  let url = '';
  const nsg = createNsgRuleRoutes(() => url, { pollsPerOperation: options.pollsPerOperation });
  const vm = (name: string) => vms.find((v) => v.name.toLowerCase() === name.toLowerCase());
  const standIn = await startStandIn(
    'arm',
    [
      {
        method: 'GET',
        path: `/subscriptions/:sub/providers/Microsoft.Compute/virtualMachines`,
        handle: ({ query }) => needsVersion(query) ?? { status: 200, body: { value: vms.map(vmResource) } },
      },
      {
        method: 'GET',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Compute/virtualMachines/:name`,
        handle: ({ params, query }) => needsVersion(query) ?? (vm(params.name!) ? { status: 200, body: vmResource(vm(params.name!)!) } : notFound('Microsoft.Compute/virtualMachines', params.name!)),
      },
      {
        method: 'GET',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Compute/virtualMachines/:name/instanceView`,
        handle: ({ params, query }) => {
          const v = vm(params.name!);
          if (!v) return notFound('Microsoft.Compute/virtualMachines', params.name!);
          return needsVersion(query) ?? { status: 200, body: { statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' }, { code: `PowerState/${v.power}`, level: 'Info', displayStatus: `VM ${v.power}` }] } };
        },
      },
      {
        method: 'GET',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic`,
        handle: ({ params, query }) => {
          const v = vms.find((x) => x.nic === params.nic);
          return needsVersion(query) ?? (v ? { status: 200, body: nicResource(v) } : notFound('Microsoft.Network/networkInterfaces', params.nic!));
        },
      },
      {
        method: 'PUT',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic`,
        handle: ({ params, query, headers, body }) => {
          const v = vms.find((x) => x.nic === params.nic);
          if (!v) return notFound('Microsoft.Network/networkInterfaces', params.nic!);
          const bad = needsVersion(query);
          if (bad) return bad;
          if (headers['if-match'] && headers['if-match'] !== nicEtag(v)) return { status: 412, body: { error: { code: 'PreconditionFailed', message: 'The etag does not match.' } } };
          const nsgRef = (body as { properties?: { networkSecurityGroup?: { id?: string } | null } } | undefined)?.properties?.networkSecurityGroup;
          v.nsg = nsgRef?.id ? nsgRef.id.split('/').pop()! : null;
          v.nicVersion = (v.nicVersion ?? 0) + 1;
          return { status: 200, body: nicResource(v) };
        },
      },
      ...nsg.routes,
      ...(options.extraRoutes ?? []),
    ],
    options,
  );
  url = standIn.url;
  return { ...standIn, vms, nsgRules: nsg.rules, nsgControl: nsg.control };
}
