import { ArmError, NETWORK_API, type ArmClient } from './arm-client';

const COMPUTE_API = '2025-04-01';
const ARM_ID = /^\/subscriptions\/[^?#\s]+$/;
const VM_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[\w.()-]{1,90}\/providers\/Microsoft\.Compute\/virtualMachines\/[\w.-]{1,64}$/i;

interface Vm {
  id: string;
  name: string;
  tags?: Record<string, string>;
  properties?: { networkProfile?: { networkInterfaces?: Array<{ id: string }> } };
}
interface Nic {
  etag?: string;
  location?: string;
  properties?: Record<string, unknown> & { networkSecurityGroup?: { id?: string } | null };
}

export interface VmIsolator {
  /** The Azure VM for a host (its ARM id when Sentinel gave one, else by name), and whether it is protected. */
  find(host: string, azureId?: string): Promise<{ vmId: string; protectedByTag: boolean } | undefined>;
  /** Puts the VM's NIC behind the isolation NSG; returns the NSG it had, for the Undo. */
  isolate(vmId: string): Promise<{ nic: string; previousNsgId: string | null; changed: boolean }>;
  /** The Undo: gives the NIC its previous NSG back (none if it had none). */
  release(vmId: string, previousNsgId: string | null): Promise<{ nic: string }>;
}

/**
 * Isolate VM in Azure: the VM's first NIC is switched to a quarantine NSG (deny all but what the
 * SOC allows), written with the NIC's etag and followed to its end. A VM tagged
 * `vigil-protected=true` is refused here, where its tags are read.
 */
export function createVmIsolator(o: { arm: ArmClient; isolationNsgId: string; subscriptionId: string }): VmIsolator {
  const nicOf = async (vmId: string) => {
    if (!ARM_ID.test(vmId)) throw new ArmError(0, 'not an Azure VM id');
    const vm = await o.arm.request<Vm>('GET', `${vmId}?api-version=${COMPUTE_API}`);
    if (vm.status === 404 || !vm.body) throw new ArmError(404, `the VM ${vmId.split('/').pop()} does not exist`);
    if (isProtected(vm.body)) throw new ArmError(403, `${vm.body.name} is tagged vigil-protected and is never isolated by Vigil`);
    const nicId = vm.body.properties?.networkProfile?.networkInterfaces?.[0]?.id;
    if (!nicId || !ARM_ID.test(nicId)) throw new ArmError(0, `${vm.body.name} has no network interface`);
    return nicId;
  };
  const setNsg = async (nicId: string, nsgId: string | null, expectCurrent?: (current: string | null) => boolean) => {
    for (let attempt = 1; ; attempt++) {
      const nic = await o.arm.request<Nic>('GET', `${nicId}?api-version=${NETWORK_API}`);
      if (!nic.body) throw new ArmError(404, 'the network interface does not exist');
      const current = nic.body.properties?.networkSecurityGroup?.id ?? null;
      if (current?.toLowerCase() === nsgId?.toLowerCase()) return { previous: current, changed: false };
      if (expectCurrent && !expectCurrent(current)) throw new ArmError(409, 'the network interface was changed by someone else since it was isolated; release it by hand');
      const write = await o.arm.request('PUT', `${nicId}?api-version=${NETWORK_API}`, {
        headers: nic.body.etag ? { 'if-match': nic.body.etag } : {},
        body: { location: nic.body.location, properties: { ...nic.body.properties, networkSecurityGroup: nsgId ? { id: nsgId } : null } },
      });
      if (write.status === 412 && attempt < 5) continue;
      if (write.status === 412) throw new ArmError(412, 'the network interface kept changing under us');
      await o.arm.waitFor(write, 'updating the network interface');
      return { previous: current, changed: true };
    }
  };
  const isProtected = (vm: Vm) => vm.tags?.['vigil-protected']?.toLowerCase() === 'true';
  return {
    async find(host, azureId) {
      if (azureId && VM_ID.test(azureId)) {
        const vm = await o.arm.request<Vm>('GET', `${azureId}?api-version=${COMPUTE_API}`);
        if (vm.status !== 404 && vm.body) return { vmId: vm.body.id, protectedByTag: isProtected(vm.body) };
      }
      const short = host.split('.')[0]!.toLowerCase();
      const list = await o.arm.request<{ value?: Vm[] }>('GET', `/subscriptions/${encodeURIComponent(o.subscriptionId)}/providers/Microsoft.Compute/virtualMachines?api-version=${COMPUTE_API}`);
      const vm = list.body?.value?.find((v) => v.name.toLowerCase() === short && ARM_ID.test(v.id));
      return vm && { vmId: vm.id, protectedByTag: isProtected(vm) };
    },
    async isolate(vmId) {
      const nic = await nicOf(vmId);
      const r = await setNsg(nic, o.isolationNsgId);
      return { nic, previousNsgId: r.changed ? r.previous : null, changed: r.changed };
    },
    async release(vmId, previousNsgId) {
      const nic = await nicOf(vmId);
      await setNsg(nic, previousNsgId, (current) => current?.toLowerCase() === o.isolationNsgId.toLowerCase());
      return { nic };
    },
  };
}
