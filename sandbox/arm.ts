import { createNsgRuleRoutes } from './nsg-rules';
import { startStandIn, type Route, type StandIn } from './stand-in';

export const SANDBOX_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const RG = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/prod-rg/providers`;

/** A network interface after a VM's primary one. */
export interface SandboxNic {
  name: string;
  nsg: string | null;
  privateIp: string;
  tags?: Record<string, string>;
  /** Bumped by every write: part of the NIC's etag. */
  version?: number;
}

export interface SandboxVm {
  name: string;
  /** The region of the VM and its NICs; westeurope when not given. */
  location?: string;
  /** Bumped by every write of the primary NIC: part of its etag. */
  nicVersion?: number;
  power: 'running' | 'deallocated' | 'stopped';
  /** The primary NIC (kept on the VM itself): its name, NSG, address and tags. */
  nic: string;
  nsg: string | null;
  privateIp: string;
  nicTags?: Record<string, string>;
  tags?: Record<string, string>;
  /** Further NICs, in the order the VM lists them. */
  moreNics?: SandboxNic[];
}

export const SANDBOX_VMS: SandboxVm[] = [
  { name: 'web-01', power: 'running', nic: 'web-01-nic', nsg: 'web-nsg', privateIp: '10.1.0.4', nicTags: { env: 'prod', costCenter: 'cc-1042' }, tags: { env: 'prod' } },
  { name: 'dc-01', power: 'running', nic: 'dc-01-nic', nsg: 'dc-nsg', privateIp: '10.1.0.10', tags: { 'vigil-protected': 'true' } },
  {
    name: 'app-01',
    power: 'running',
    nic: 'app-01-nic',
    nsg: 'app-nsg',
    privateIp: '10.1.0.20',
    nicTags: { env: 'prod', tier: 'front' },
    tags: { env: 'prod' },
    moreNics: [{ name: 'app-01-nic-backend', nsg: null, privateIp: '10.2.0.20', tags: { env: 'prod', tier: 'backend' } }],
  },
  { name: 'api-01', location: 'eastus', power: 'running', nic: 'api-01-nic', nsg: 'api-nsg', privateIp: '10.8.0.4', nicTags: { env: 'prod' }, tags: { env: 'prod' } },
];

/** A network security group: a NIC may only use one in its own region. */
export interface SandboxNsg {
  name: string;
  location: string;
}

/** The network security groups in the sandbox's resource group. */
export const SANDBOX_NSGS: SandboxNsg[] = [
  { name: 'edge-nsg', location: 'westeurope' },
  { name: 'isolation-nsg', location: 'westeurope' },
  { name: 'web-nsg', location: 'westeurope' },
  { name: 'dc-nsg', location: 'westeurope' },
  { name: 'app-nsg', location: 'westeurope' },
  { name: 'isolation-nsg-eastus', location: 'eastus' },
  { name: 'api-nsg', location: 'eastus' },
];

export const vmId = (name: string) => `${RG}/Microsoft.Compute/virtualMachines/${name}`;
export const nicId = (name: string) => `${RG}/Microsoft.Network/networkInterfaces/${name}`;
export const nsgId = (name: string) => `${RG}/Microsoft.Network/networkSecurityGroups/${name}`;

/** The VM's NICs, the primary first; the primary is a copy, written back through `writeNic`. */
const nicsOf = (vm: SandboxVm): SandboxNic[] => [{ name: vm.nic, nsg: vm.nsg, privateIp: vm.privateIp, tags: vm.nicTags, version: vm.nicVersion }, ...(vm.moreNics ?? [])];

/** A PUT replaces the NIC: its NSG and its tags are what the body says. */
const writeNic = (vm: SandboxVm, index: number, change: { nsg: string | null; tags?: Record<string, string> }) => {
  if (index === 0) {
    Object.assign(vm, { nsg: change.nsg, nicTags: change.tags, nicVersion: (vm.nicVersion ?? 0) + 1 });
    return;
  }
  const nic = vm.moreNics![index - 1]!;
  Object.assign(nic, { nsg: change.nsg, tags: change.tags, version: (nic.version ?? 0) + 1 });
};

const locationOf = (vm: SandboxVm) => vm.location ?? 'westeurope';

const vmResource = (vm: SandboxVm) => ({
  id: vmId(vm.name),
  name: vm.name,
  type: 'Microsoft.Compute/virtualMachines',
  location: locationOf(vm),
  tags: vm.tags ?? {},
  properties: {
    vmId: `vm-${vm.name}`,
    provisioningState: 'Succeeded',
    networkProfile: { networkInterfaces: nicsOf(vm).map((n, i) => ({ id: nicId(n.name), properties: { primary: i === 0 } })) },
  },
});

/** The NIC's etag: the VM's name, the NIC's place after the primary, and its version. */
const nicEtag = (vm: SandboxVm, index: number) => `W/"nic-${vm.name}${index === 0 ? '' : `-${index}`}-${nicsOf(vm)[index]!.version ?? 0}"`;

const nicResource = (vm: SandboxVm, index: number) => {
  const nic = nicsOf(vm)[index]!;
  return {
    name: nic.name,
    etag: nicEtag(vm, index),
    id: nicId(nic.name),
    location: locationOf(vm),
    ...(nic.tags ? { tags: nic.tags } : {}),
    type: 'Microsoft.Network/networkInterfaces',
    properties: {
      provisioningState: 'Succeeded',
      ipConfigurations: [
        {
          name: 'ipconfig1',
          id: `${nicId(nic.name)}/ipConfigurations/ipconfig1`,
          properties: { provisioningState: 'Succeeded', privateIPAddress: nic.privateIp, privateIPAllocationMethod: 'Dynamic', primary: true, privateIPAddressVersion: 'IPv4' },
        },
      ],
      networkSecurityGroup: nic.nsg ? { id: nsgId(nic.nsg) } : undefined,
      primary: index === 0,
      virtualMachine: { id: vmId(vm.name) },
    },
  };
};

/** An NSG as the Network RP's GET answers it, with the rules the sandbox holds for it. */
const nsgResource = (nsg: SandboxNsg, rules: Array<{ name: string; etag: string; properties: Record<string, unknown> }>) => ({
  name: nsg.name,
  id: nsgId(nsg.name),
  etag: `W/"nsg-${nsg.name}"`,
  type: 'Microsoft.Network/networkSecurityGroups',
  location: nsg.location,
  properties: {
    provisioningState: 'Succeeded',
    resourceGuid: `guid-${nsg.name}`,
    securityRules: rules.map((r) => ({
      name: r.name,
      id: `${nsgId(nsg.name)}/securityRules/${r.name}`,
      etag: r.etag,
      type: 'Microsoft.Network/networkSecurityGroups/securityRules',
      properties: r.properties,
    })),
    defaultSecurityRules: [],
  },
});

const notFound = (type: string, name: string) => ({
  status: 404,
  body: { error: { code: 'ResourceNotFound', message: `The Resource '${type}/${name}' under resource group 'prod-rg' was not found.` } },
});
const needsVersion = (query: Record<string, string>) =>
  query['api-version'] ? undefined : { status: 400, body: { error: { code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.' } } };

/**
 * Azure Resource Manager for VMs, NICs, NSGs and NSG rules, in ARM's shapes and error envelope. A
 * NIC PUT is refused, as by the Network RP, when its NSG does not exist or is in another region.
 * `extraRoutes` lets other resource providers (Sentinel) share the one ARM endpoint, as in Azure;
 * `vmPageSize` makes the VM list answer in pages linked by `nextLink`, as ARM lists do.
 */
export async function startArm(
  options: { port?: number; vms?: SandboxVm[]; nsgs?: SandboxNsg[]; extraRoutes?: Route[]; pollsPerOperation?: number; vmPageSize?: number } = {},
): Promise<StandIn & { vms: SandboxVm[]; nsgRules: ReturnType<typeof createNsgRuleRoutes>['rules']; nsgControl: ReturnType<typeof createNsgRuleRoutes>['control'] }> {
  const vms = options.vms ?? structuredClone(SANDBOX_VMS);
  const nsgs = options.nsgs ?? SANDBOX_NSGS;
  let url = '';
  const nsg = createNsgRuleRoutes(() => url, { pollsPerOperation: options.pollsPerOperation, nsgs: nsgs.map((n) => n.name) });
  const nsgNamed = (name: string) => nsgs.find((n) => n.name.toLowerCase() === name.toLowerCase());
  const rulesOf = (name: string) => [...nsg.rules.entries()].filter(([key]) => key.startsWith(`${name.toLowerCase()}/`)).map(([, rule]) => rule);
  const vm = (name: string) => vms.find((v) => v.name.toLowerCase() === name.toLowerCase());
  const nicNamed = (name: string) => {
    for (const v of vms) {
      const index = nicsOf(v).findIndex((n) => n.name === name);
      if (index >= 0) return { vm: v, index };
    }
    return undefined;
  };
  const vmPage = (sub: string, query: Record<string, string>) => {
    const size = options.vmPageSize ?? vms.length;
    const skip = Number(query.$skiptoken ?? 0);
    const next = skip + size < vms.length ? `${url}/subscriptions/${sub}/providers/Microsoft.Compute/virtualMachines?api-version=${query['api-version']}&$skiptoken=${skip + size}` : undefined;
    return { value: vms.slice(skip, skip + size).map(vmResource), ...(next ? { nextLink: next } : {}) };
  };
  const standIn = await startStandIn(
    'arm',
    [
      {
        method: 'GET',
        path: `/subscriptions/:sub/providers/Microsoft.Compute/virtualMachines`,
        handle: ({ params, query }) => needsVersion(query) ?? { status: 200, body: vmPage(params.sub!, query) },
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
          return (
            needsVersion(query) ?? {
              status: 200,
              body: {
                statuses: [
                  { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
                  { code: `PowerState/${v.power}`, level: 'Info', displayStatus: `VM ${v.power}` },
                ],
              },
            }
          );
        },
      },
      {
        method: 'GET',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic`,
        handle: ({ params, query }) => {
          const found = nicNamed(params.nic!);
          return needsVersion(query) ?? (found ? { status: 200, body: nicResource(found.vm, found.index) } : notFound('Microsoft.Network/networkInterfaces', params.nic!));
        },
      },
      {
        method: 'PUT',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic`,
        handle: ({ params, query, headers, body }) => {
          const found = nicNamed(params.nic!);
          if (!found) return notFound('Microsoft.Network/networkInterfaces', params.nic!);
          const bad = needsVersion(query);
          if (bad) return bad;
          if (headers['if-match'] && headers['if-match'] !== nicEtag(found.vm, found.index))
            return { status: 412, body: { error: { code: 'PreconditionFailed', message: 'The etag does not match.' } } };
          const b = body as { location?: unknown; tags?: Record<string, string>; properties?: { networkSecurityGroup?: { id?: string } | null } } | undefined;
          if (typeof b?.location !== 'string') return { status: 400, body: { error: { code: 'LocationRequired', message: 'The location property is required for this definition.' } } };
          const nsgRef = b.properties?.networkSecurityGroup;
          const target = nsgRef?.id ? nsgNamed(nsgRef.id.split('/').pop()!) : undefined;
          if (nsgRef?.id && target?.location !== locationOf(found.vm)) {
            // The Network RP says the same for an NSG that does not exist and one in another region.
            const nic = `/subscriptions/${params.sub}/resourceGroups/${params.rg}/providers/Microsoft.Network/networkInterfaces/${params.nic}`;
            return {
              status: 400,
              body: {
                error: {
                  code: 'InvalidResourceReference',
                  message: `Resource ${nsgRef.id} referenced by resource ${nic} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
                  details: [],
                },
              },
            };
          }
          writeNic(found.vm, found.index, { nsg: nsgRef?.id ? nsgRef.id.split('/').pop()! : null, tags: b.tags });
          return { status: 200, body: nicResource(found.vm, found.index) };
        },
      },
      {
        method: 'GET',
        path: `/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:nsg`,
        handle: ({ params, query }) => {
          const found = nsgNamed(params.nsg!);
          return needsVersion(query) ?? (found ? { status: 200, body: nsgResource(found, rulesOf(found.name)) } : notFound('Microsoft.Network/networkSecurityGroups', params.nsg!));
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
