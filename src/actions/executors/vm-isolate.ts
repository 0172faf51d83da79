import type { UpstreamError } from '../../http/upstream-error';
import { armError, isArmError, NETWORK_API, type ArmClient, type ArmResponse } from './arm-client';
import { RunAborted, throwIfStopped } from '../run-aborted';
import { isVmResourceId } from '../../ids';

const COMPUTE_API = '2025-04-01';
const ARM_ID = /^\/subscriptions\/[^?#\s]+$/;

interface Vm {
  id: string;
  name: string;
  tags?: Record<string, string>;
  properties?: { networkProfile?: { networkInterfaces?: Array<{ id: string }> } };
}
interface Nic {
  etag?: string;
  location?: string;
  tags?: Record<string, string>;
  properties?: Record<string, unknown> & { networkSecurityGroup?: { id?: string } | null };
}
interface Nsg {
  location?: string;
}
interface VmPage {
  value?: Vm[];
  nextLink?: string;
}

/** The NSG each NIC had before isolation (null: none), by NIC id: what the Undo puts back. */
export type PreviousNsgs = Record<string, string | null>;

/** An Azure VM as ARM has it: its id, its name, and whether it is tagged `vigil-protected=true`. */
export interface FoundVm {
  vmId: string;
  name: string;
  protectedByTag: boolean;
}

export interface VmFinder {
  /**
   * The Azure VM for a host: by its ARM id when one is known (Defender's `vmMetadata.resourceId`,
   * Sentinel's `azureID`), else by name (the host's first label) in the subscription. Undefined
   * when there is none; throws an ARM `UpstreamError` when ARM cannot be read (refused, throttled, down).
   */
  find(host: string, resourceId?: string, signal?: AbortSignal): Promise<FoundVm | undefined>;
}

export interface VmIsolator extends VmFinder {
  /**
   * Puts every NIC of the VM behind the isolation NSG of its region, or refuses the VM before it
   * touches any NIC when there is none there. `previousNsgId` holds the NSG of each NIC it moved,
   * or that an earlier Vigil run had moved (read back from the NIC's tag); a NIC isolated by hand
   * is left out, so the Undo does not touch it.
   */
  isolate(vmId: string, signal?: AbortSignal): Promise<{ nics: string[]; previousNsgId: PreviousNsgs; changed: boolean }>;
  /** The Undo: gives each NIC its previous NSG back (`previous` is what `isolate` returned). */
  release(previous: PreviousNsgs, signal?: AbortSignal): Promise<{ nics: string[] }>;
}

const nicName = (nicId: string) => nicId.split('/').pop();

/**
 * The NSG a NIC had before isolation, written onto the NIC in the same PUT that isolates it. The
 * action's result records it too, but a run that dies after Azure took the PUT and before the
 * result was stored would retry, find the NIC already isolated and forget it; the tag survives.
 */
export const PREVIOUS_NSG_TAG = 'vigil-previous-nsg';
const NO_NSG = 'none';
/** Azure's limit on a tag value. */
const MAX_TAG_VALUE = 256;

/** ARM names a region `westeurope`, but some answers spell it `West Europe`. */
const regionOf = (location: string) => location.replace(/\s+/g, '').toLowerCase();

const withoutTag = (tags: Record<string, string> | undefined) => {
  const rest = { ...(tags ?? {}) };
  delete rest[PREVIOUS_NSG_TAG];
  return rest;
};

const isProtected = (vm: Vm) => vm.tags?.['vigil-protected']?.toLowerCase() === 'true';

/**
 * Reads a VM and its tags from ARM, for both isolation paths: a host Defender isolates may be an
 * Azure VM tagged `vigil-protected`, and that tag must stop Defender as it stops the NSG.
 */
export function createVmFinder(o: { arm: ArmClient; subscriptionId: string }): VmFinder {
  /** Every VM in the subscription, page by page (ARM lists are pageable through `nextLink`). */
  async function* allVms(signal?: AbortSignal) {
    if (!o.subscriptionId) return;
    let page: string | undefined = `/subscriptions/${encodeURIComponent(o.subscriptionId)}/providers/Microsoft.Compute/virtualMachines?api-version=${COMPUTE_API}`;
    while (page) {
      const list: ArmResponse<VmPage> = await o.arm.request<VmPage>('GET', page, { signal });
      if (list.status >= 400) throw armError(list.status, `Azure Resource Manager answered ${list.status} to the VM list`);
      yield* list.body?.value ?? [];
      page = list.body?.nextLink;
    }
  }
  const found = (vm: Vm): FoundVm => ({ vmId: vm.id, name: vm.name, protectedByTag: isProtected(vm) });
  return {
    async find(host, resourceId, signal) {
      if (resourceId && isVmResourceId(resourceId)) {
        const vm = await o.arm.request<Vm>('GET', `${resourceId}?api-version=${COMPUTE_API}`, { signal });
        if (vm.status !== 404 && vm.status >= 400) throw armError(vm.status, `Azure Resource Manager answered ${vm.status} for the VM ${resourceId.split('/').pop()}`);
        if (vm.status !== 404 && vm.body?.id) return found(vm.body);
      }
      const short = host.split('.')[0]!.toLowerCase();
      for await (const vm of allVms(signal)) {
        if (vm.name?.toLowerCase() === short && ARM_ID.test(vm.id)) return found(vm);
      }
      return undefined;
    },
  };
}

/**
 * Isolate VM in Azure: each of the VM's NICs is switched to a quarantine NSG (deny all but what
 * the SOC allows), written with the NIC's etag and followed to its end. The NIC is written back
 * whole, as it was read, so its tags and other settings survive. A VM tagged
 * `vigil-protected=true` is refused here, where its tags are read.
 *
 * `isolationNsgId` is one quarantine NSG or one per region (ISOLATION_NSG_ID): Azure only lets a
 * NIC use an NSG in its own region, so each NIC gets the one whose location is the NIC's. A NIC
 * behind any of them counts as isolated.
 */
export function createVmIsolator(o: { arm: ArmClient; isolationNsgId: string | string[]; subscriptionId: string }): VmIsolator {
  const isolationNsgIds = [o.isolationNsgId].flat();
  const finder = createVmFinder(o);
  const isIsolation = (nsgId: string | null): nsgId is string => nsgId !== null && isolationNsgIds.some((id) => id.toLowerCase() === nsgId.toLowerCase());

  /**
   * Where each isolation NSG is. Its id does not say, so it is read from ARM once for the life of
   * the process: a resource never changes region. A failed read is not kept, so the next try reads again.
   */
  let isolationRegions: Promise<Array<{ nsgId: string; region: string }>> | undefined;
  const locateIsolationNsg = async (nsgId: string) => {
    const nsg = await o.arm.request<Nsg>('GET', `${nsgId}?api-version=${NETWORK_API}`);
    if (nsg.status === 404) throw armError(404, `the isolation NSG ${nsgId.split('/').pop()} in ISOLATION_NSG_ID does not exist`);
    if (typeof nsg.body?.location !== 'string') throw armError(0, `Azure Resource Manager answered without the location of the isolation NSG ${nsgId.split('/').pop()}`);
    return { nsgId, region: regionOf(nsg.body.location) };
  };
  const regionsOfIsolationNsgs = () => {
    isolationRegions ??= Promise.all(isolationNsgIds.map(locateIsolationNsg)).catch((e: unknown) => {
      isolationRegions = undefined;
      throw e;
    });
    return isolationRegions;
  };

  const nicsOf = async (vmId: string, signal?: AbortSignal) => {
    if (!ARM_ID.test(vmId)) throw armError(0, 'not an Azure VM id');
    const vm = await o.arm.request<Vm>('GET', `${vmId}?api-version=${COMPUTE_API}`, { signal });
    if (vm.status === 404 || !vm.body) throw armError(404, `the VM ${vmId.split('/').pop()} does not exist`);
    if (isProtected(vm.body)) throw armError(403, `${vm.body.name} is tagged vigil-protected and is never isolated by Vigil`);
    const nicIds = (vm.body.properties?.networkProfile?.networkInterfaces ?? []).map((n) => n?.id);
    if (nicIds.length === 0 || !nicIds.every((id): id is string => typeof id === 'string' && ARM_ID.test(id))) throw armError(0, `${vm.body.name} has no network interface Vigil can read`);
    return nicIds;
  };

  const readNic = async (nicId: string, signal?: AbortSignal) => {
    const nic = await o.arm.request<Nic>('GET', `${nicId}?api-version=${NETWORK_API}`, { signal });
    // arm-client hands back a 404 with its error body: without this check a missing NIC would read as "no NSG".
    if (nic.status === 404) throw armError(404, `the network interface ${nicName(nicId)} no longer exists`);
    if (!nic.body?.properties) throw armError(0, `Azure Resource Manager answered without the properties of the network interface ${nicName(nicId)}`);
    return { ...nic.body, properties: nic.body.properties };
  };

  /**
   * The isolation NSG for each NIC: the one it is already behind, else the one in its region (the
   * first listed, if ISOLATION_NSG_ID has two there). Throws, before any NIC is written, when a
   * NIC's region has none: Azure would refuse the PUT, and half a VM isolated helps nobody.
   */
  const isolationNsgsFor = async (nicIds: string[], signal?: AbortSignal) => {
    const targets = new Map<string, string>();
    // Every NIC read side by side; the map keeps the VM's order.
    const found = await Promise.all(nicIds.map(async (nicId) => [nicId, await targetFor(nicId, signal)] as const));
    for (const [nicId, nsgId] of found) targets.set(nicId, nsgId);
    return targets;
  };
  const targetFor = async (nicId: string, signal?: AbortSignal): Promise<string> => {
    const nic = await readNic(nicId, signal);
    const current = nic.properties.networkSecurityGroup?.id ?? null;
    if (isIsolation(current)) return current;
    if (typeof nic.location !== 'string') throw armError(0, `Azure Resource Manager answered without the location of the network interface ${nicName(nicId)}`);
    const region = regionOf(nic.location);
    // The regions are read once for every run, so one run's stop must not abort the others' read.
    throwIfStopped(signal);
    const nsgs = await regionsOfIsolationNsgs();
    const match = nsgs.find((n) => n.region === region);
    if (!match) throw armError(400, `no isolation NSG in ${region} (ISOLATION_NSG_ID lists NSGs in ${[...new Set(nsgs.map((n) => n.region))].join(', ')})`);
    return match.nsgId;
  };

  const setNsg = async (nicId: string, nsgId: string | null, expectCurrent?: (current: string | null) => boolean, signal?: AbortSignal) => {
    for (let attempt = 1; ; attempt++) {
      const nic = await readNic(nicId, signal);
      const current = nic.properties.networkSecurityGroup?.id ?? null;
      const remembered = nic.tags?.[PREVIOUS_NSG_TAG];
      if (current?.toLowerCase() === nsgId?.toLowerCase()) {
        const recovered = remembered === undefined ? undefined : remembered === NO_NSG ? null : remembered;
        return { previous: current, changed: false, recovered };
      }
      if (expectCurrent && !expectCurrent(current)) throw armError(409, `the network interface ${nicName(nicId)} was changed by someone else since it was isolated; release it by hand`);
      // Isolating remembers the NSG on the NIC; releasing forgets it.
      const memo = current ?? NO_NSG;
      const tags = isIsolation(nsgId) && memo.length <= MAX_TAG_VALUE ? { ...(nic.tags ?? {}), [PREVIOUS_NSG_TAG]: memo } : withoutTag(nic.tags);
      // A PUT replaces the resource: send it all back (tags included) with only the NSG changed.
      const write = await o.arm.request('PUT', `${nicId}?api-version=${NETWORK_API}`, {
        signal,
        headers: nic.etag ? { 'if-match': nic.etag } : {},
        body: { ...nic, tags, properties: { ...nic.properties, networkSecurityGroup: nsgId ? { id: nsgId } : null } },
      });
      if (write.status === 412 && attempt < 5) continue;
      if (write.status === 412) throw armError(412, `the network interface ${nicName(nicId)} kept changing under us`);
      await o.arm.waitFor(write, `updating the network interface ${nicName(nicId)}`, signal);
      return { previous: current, changed: true };
    }
  };

  /**
   * Puts each NIC back on its NSG, as long as it is still on the isolation NSG. One NIC that fails
   * does not keep the others isolated; the first failure is thrown after all were tried (a retry
   * is safe: the NICs already back are left alone). A stopped run stops here too.
   */
  const restore = async (previous: PreviousNsgs, signal?: AbortSignal) => {
    const failures: UpstreamError[] = [];
    // Every NIC side by side; a stop wins over the failures.
    const outcomes = await Promise.allSettled(
      Object.entries(previous).map(([nicId, nsgId]) => (ARM_ID.test(nicId) ? setNsg(nicId, nsgId, isIsolation, signal) : Promise.reject(armError(0, 'not a network interface id')))),
    );
    for (const r of outcomes) {
      if (r.status === 'fulfilled') continue;
      if (r.reason instanceof RunAborted) throw r.reason;
      failures.push(isArmError(r.reason) ? r.reason : armError(0, String(r.reason)));
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw armError(failures[0]!.status, failures.map((f) => f.message).join('; '));
  };

  /** Half an isolation would be retried with the moved NICs' NSGs forgotten: put them back, then fail with `e`. */
  const putBack = async (moved: PreviousNsgs, e: unknown, signal?: AbortSignal): Promise<never> => {
    // Stopped: the action belongs to another process now, whose isolation this must not undo.
    if (e instanceof RunAborted) throw e;
    const stuck = await restore(moved, signal).then(
      () => undefined,
      (undo: unknown) => (undo instanceof Error ? undo.message : String(undo)),
    );
    if (!stuck) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw armError(isArmError(e) ? e.status : 0, `${message}; and the NICs already isolated could not be put back (${stuck}): release them by hand`);
  };

  return {
    find: finder.find,
    async isolate(vmId, signal) {
      const nics = await nicsOf(vmId, signal);
      const targets = await isolationNsgsFor(nics, signal);
      const moved: PreviousNsgs = {};
      const previous: PreviousNsgs = {};
      // Every NIC side by side; if one fails, the ones that moved are put back (in the VM's order).
      const outcomes = await Promise.allSettled(nics.map((nic) => setNsg(nic, targets.get(nic)!, undefined, signal)));
      let failed: { reason: unknown } | undefined;
      outcomes.forEach((r, n) => {
        const nic = nics[n]!;
        if (r.status === 'rejected') {
          if (!failed || r.reason instanceof RunAborted) failed = { reason: r.reason };
          return;
        }
        if (r.value.changed) moved[nic] = previous[nic] = r.value.previous;
        // Already isolated by an earlier run of Vigil's (the tag says what it had): the Undo still knows.
        else if (r.value.recovered !== undefined) previous[nic] = r.value.recovered;
      });
      if (failed) return putBack(moved, failed.reason, signal);
      return { nics, previousNsgId: previous, changed: Object.keys(moved).length > 0 };
    },
    async release(previous, signal) {
      await restore(previous, signal);
      return { nics: Object.keys(previous) };
    },
  };
}
