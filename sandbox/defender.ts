import { startStandIn, type StandIn } from './stand-in';

export interface SandboxMachine {
  id: string;
  computerDnsName: string;
  healthStatus: 'Active' | 'Inactive' | 'ImpairedCommunication' | 'NoSensorData';
  riskScore: 'None' | 'Low' | 'Medium' | 'High';
  exposureLevel: 'None' | 'Low' | 'Medium' | 'High';
  isolated?: boolean;
}

export const SANDBOX_MACHINES: SandboxMachine[] = [
  { id: '7b1f4967d9728e5aa3c06a9e617a22a4a5a17378', computerDnsName: 'web-01.contoso.example', healthStatus: 'Active', riskScore: 'High', exposureLevel: 'Medium' },
];

const odataEq = (filter: string | undefined, field: string): string | undefined => {
  const m = new RegExp(`^${field} eq '((?:[^']|'')*)'$`).exec(filter?.trim() ?? '');
  return m ? m[1]!.replace(/''/g, "'") : undefined;
};

/** Defender for Endpoint: machines and machine actions filtered with OData `eq`, in its shapes. */
export async function startDefender(options: { port?: number; machines?: SandboxMachine[] } = {}): Promise<StandIn & { machines: SandboxMachine[] }> {
  const machines = options.machines ?? SANDBOX_MACHINES.map((m) => ({ ...m }));
  const badFilter = (filter?: string) => ({ status: 400, body: { error: { code: 'InvalidRequest', message: `Invalid filter: ${filter}`, target: '00000000-0000-0000-0000-000000000000' } } });
  const standIn = await startStandIn(
    'defender',
    [
      {
        method: 'GET',
        path: '/api/machines',
        handle: ({ query }) => {
          const dns = odataEq(query.$filter, 'computerDnsName');
          if (query.$filter && dns === undefined) return badFilter(query.$filter);
          const value = machines.filter((m) => dns === undefined || m.computerDnsName === dns).map(({ isolated: _i, ...m }) => ({ ...m, osPlatform: 'Windows10', lastSeen: '2026-11-24T01:00:00Z' }));
          return { status: 200, body: { '@odata.context': 'https://api.securitycenter.microsoft.com/api/$metadata#Machines', value } };
        },
      },
      {
        method: 'GET',
        path: '/api/machineactions',
        handle: ({ query }) => {
          const id = odataEq(query.$filter, 'machineId');
          if (query.$filter && id === undefined) return badFilter(query.$filter);
          const m = machines.find((x) => x.id === id);
          const value = m?.isolated
            ? [{ id: 'action-1', type: 'Isolate', scope: 'Full', status: 'Succeeded', machineId: m.id, computerDnsName: m.computerDnsName, creationDateTimeUtc: '2026-11-24T00:00:00Z', lastUpdateDateTimeUtc: '2026-11-24T00:01:00Z' }]
            : [];
          return { status: 200, body: { '@odata.context': 'https://api.securitycenter.microsoft.com/api/$metadata#MachineActions', value } };
        },
      },
    ],
    options,
  );
  return { ...standIn, machines };
}
