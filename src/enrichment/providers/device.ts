import type { TokenCredential } from '@azure/identity';
import { createTtlCache } from '../ttl-cache';
import { bearerFrom } from '../../http/bearer';
import { createHttpClient } from '../../http/http-client';
import { reasonOf } from '../../http/upstream-error';
import type { FactValue, SourceResult } from '../types';
import type { EnrichmentProvider } from '../orchestrator';
import { isHostName, isVmResourceId } from '../../ids';

const COMPUTE_API = '2025-04-01';
const NETWORK_API = '2024-07-01';

interface Vm {
  id: string;
  name: string;
  properties?: { networkProfile?: { networkInterfaces?: Array<{ id: string }> } };
}
interface InstanceView {
  statuses?: Array<{ code?: string }>;
}
interface Nic {
  properties?: { networkSecurityGroup?: { id?: string } | null; ipConfigurations?: Array<{ properties?: { privateIPAddress?: string; primary?: boolean } }> };
}
interface Machine {
  id: string;
  healthStatus?: string;
  riskScore?: string;
  exposureLevel?: string;
  osPlatform?: string;
  lastSeen?: string;
}
interface MachineAction {
  type?: string;
  status?: string;
  lastUpdateDateTimeUtc?: string;
}

/** OData string literal: single quotes doubled. */
const odataString = (v: string) => `'${v.replace(/'/g, "''")}'`;
const lastSegment = (id?: string | null) => id?.split('/').pop() ?? null;

export interface DeviceProviderOptions {
  armEndpoint: string;
  subscriptionId: string;
  mdeEndpoint?: string;
  timeoutMs: number;
  cacheTtlMs: number;
  credential?: TokenCredential;
}

/**
 * The host's state: the Azure VM (power state, NIC, NSG) through ARM and, where configured, the
 * Defender for Endpoint machine (health, risk, exposure, isolation). Either side may be missing;
 * the card shows what was found. The host name is checked against a strict pattern and encoded.
 */
export function createDevice(o: DeviceProviderOptions): EnrichmentProvider {
  const cache = createTtlCache<SourceResult>(o.cacheTtlMs);
  const name = 'Device';
  const within = { timeoutMs: o.timeoutMs, retry: { budgetMs: o.timeoutMs } };
  const armHttp = createHttpClient({ upstream: 'Azure Resource Manager', baseUrl: o.armEndpoint, token: bearerFrom(o.credential, `${o.armEndpoint}/.default`), ...within });
  const mdeHttp = o.mdeEndpoint
    ? createHttpClient({ upstream: 'Defender for Endpoint', baseUrl: o.mdeEndpoint, token: bearerFrom(o.credential, 'https://api.securitycenter.microsoft.com/.default'), ...within })
    : undefined;
  const arm = <T>(path: string) => armHttp.json<T>(path);
  const mde = async <T>(path: string) => mdeHttp?.json<T>(path);

  const findVm = async (host: string): Promise<Vm | undefined> => {
    const short = host.split('.')[0]!.toLowerCase();
    const list = await arm<{ value: Vm[] }>(`/subscriptions/${encodeURIComponent(o.subscriptionId)}/providers/Microsoft.Compute/virtualMachines?api-version=${COMPUTE_API}`);
    return list?.value.find((vm) => vm.name.toLowerCase() === short);
  };

  const vmFacts = async (host: string): Promise<Record<string, FactValue>> => {
    const vm = await findVm(host);
    if (!vm || !isVmResourceId(vm.id)) return { VM: 'not found in Azure' };
    const nicId = vm.properties?.networkProfile?.networkInterfaces?.[0]?.id;
    const [view, nic] = await Promise.all([
      arm<InstanceView>(`${vm.id}/instanceView?api-version=${COMPUTE_API}`),
      nicId && /^\/subscriptions\/[^?#]+$/.test(nicId) ? arm<Nic>(`${nicId}?api-version=${NETWORK_API}`) : undefined,
    ]);
    const power = view?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length);
    const ip = nic?.properties?.ipConfigurations?.find((c) => c.properties?.primary)?.properties?.privateIPAddress ?? nic?.properties?.ipConfigurations?.[0]?.properties?.privateIPAddress;
    return { VM: vm.name, power: power ?? null, NIC: lastSegment(nicId), NSG: lastSegment(nic?.properties?.networkSecurityGroup?.id), 'private IP': ip ?? null };
  };

  const mdeFacts = async (host: string): Promise<Record<string, FactValue>> => {
    if (!o.mdeEndpoint) return {};
    const machines = await mde<{ value: Machine[] }>(`/api/machines?$filter=${encodeURIComponent(`computerDnsName eq ${odataString(host.toLowerCase())}`)}`);
    const m = machines?.value[0];
    if (!m) return { Defender: 'not onboarded' };
    const actions = await mde<{ value: MachineAction[] }>(`/api/machineactions?$filter=${encodeURIComponent(`machineId eq ${odataString(m.id)}`)}`);
    const lastIsolation = (actions?.value ?? [])
      .filter((a) => (a.type === 'Isolate' || a.type === 'Unisolate') && a.status === 'Succeeded')
      .sort((a, b) => (b.lastUpdateDateTimeUtc ?? '').localeCompare(a.lastUpdateDateTimeUtc ?? ''))[0];
    return { health: m.healthStatus ?? null, 'MDE risk': m.riskScore ?? null, exposure: m.exposureLevel ?? null, isolated: lastIsolation?.type === 'Isolate' };
  };

  const lookup = async (host: string): Promise<SourceResult> => {
    const at = new Date().toISOString();
    try {
      const [vm, machine] = await Promise.all([vmFacts(host), mdeFacts(host)]);
      return { status: 'ok', source: name, facts: { ...vm, ...machine }, at };
    } catch (e) {
      return { status: 'unavailable', source: name, reason: reasonOf(e), at };
    }
  };
  return {
    name,
    supports: (i) => i.kind === 'host' && isHostName(i.value),
    lookup: (i) =>
      cache.get(
        i.value.toLowerCase(),
        () => lookup(i.value),
        (r) => r.status === 'ok',
      ),
  };
}
