import { UpstreamError } from '../../http/upstream-error';
import { AppError } from '../../errors';
import { DEFENDER, type DefenderClient } from './defender-client';
import { MAX_INLINE_WAIT_MS } from './arm-client';
import { pause } from '../run-aborted';
import { isGuid, isVmResourceId } from '../../ids';

const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MACHINE_ID = /^[0-9a-f]{40}$/i;
const FAILED = new Set(['Failed', 'TimeOut', 'Cancelled']);
/** A status that means the machine is, or is about to be, in the state the action asks for. */
const UNDER_WAY = new Set(['Pending', 'InProgress', 'Succeeded']);

type IsolationType = 'Isolate' | 'Unisolate';

interface Machine {
  id: string;
  computerDnsName: string;
  lastSeen?: string;
  /** Where Defender knows the device runs: for an Azure VM, its ARM id. */
  vmMetadata?: { cloudProvider?: string; resourceId?: string } | null;
  azureResourceId?: string;
}

/** A Defender machine, and the ARM id of the Azure VM behind it when Defender knows one. */
export interface FoundMachine {
  id: string;
  computerDnsName: string;
  azureResourceId?: string;
}

const azureResourceIdOf = (m: Machine): string | undefined => [m.vmMetadata?.resourceId, m.azureResourceId].find((id): id is string => typeof id === 'string' && isVmResourceId(id));
interface MachineAction {
  id: string;
  type?: string;
  status?: string;
  machineId?: string;
  computerDnsName?: string;
  creationDateTimeUtc?: string;
}

export interface MachineIsolator {
  /**
   * The Defender machine for a host name, matched exactly on `computerDnsName`: the FQDN first,
   * then the first label (devices outside a domain are registered under their bare name). With
   * duplicates (a re-imaged device onboards again) the most recently seen wins. Undefined when
   * Defender knows no such machine; throws BAD_REQUEST for a string that is not a host name.
   * Each method stops with `RunAborted` once `signal` fires.
   */
  findMachine(host: string, signal?: AbortSignal): Promise<FoundMachine | undefined>;
  /** Full network isolation, followed until Defender reports it done. */
  isolate(machineId: string, comment: string, signal?: AbortSignal): Promise<{ machineActionId: string }>;
  /** The Undo: releases the machine from isolation, followed until done. */
  release(machineId: string, comment: string, signal?: AbortSignal): Promise<{ machineActionId: string }>;
}

const odataString = (v: string) => `'${v.replace(/'/g, "''")}'`;
const newestBy =
  <K extends string>(key: K) =>
  (a: Partial<Record<K, string>>, b: Partial<Record<K, string>>) =>
    (b[key] ?? '').localeCompare(a[key] ?? '');

/**
 * Isolate device through Defender for Endpoint machine actions. Both directions are idempotent:
 * when the machine's latest isolation action already asks for the same thing (pending, in
 * progress or done) that action is followed instead of posting another. Defender leaves a
 * duplicate isolate stuck in Pending, and answers 400 "Action is already in progress" when one
 * races ours; both are avoided or absorbed here. Throws `AppError` BAD_REQUEST for an id or host
 * that is not well formed, `UpstreamError` 404 for a machine Defender does not know, 422 when the
 * action ends Failed/TimeOut/Cancelled, and status 0 when it is still running after `maxWaitMs`
 * (a retry then follows the same action).
 */
export function createMachineIsolator(o: { defender: DefenderClient; pollMs?: number; maxWaitMs?: number; sleep?: (ms: number) => Promise<void> }): MachineIsolator {
  const sleep = (ms: number, stop?: AbortSignal) => pause(ms, stop, o.sleep);
  const pollMs = o.pollMs ?? 2000;
  const maxWaitMs = o.maxWaitMs ?? 10 * 60_000;

  const machinesNamed = async (name: string, stop?: AbortSignal) => {
    const r = await o.defender.request<{ value?: Machine[] }>('GET', `/api/machines?$filter=${encodeURIComponent(`computerDnsName eq ${odataString(name)}`)}`, undefined, stop);
    return (r.body?.value ?? []).filter((m) => m.computerDnsName?.toLowerCase() === name).sort(newestBy('lastSeen'));
  };

  const checkedId = (machineId: string) => {
    if (!MACHINE_ID.test(machineId)) throw new AppError('BAD_REQUEST', `"${machineId.slice(0, 60)}" is not a Defender machine id`);
    return machineId.toLowerCase();
  };

  const latestIsolationAction = async (machineId: string, stop?: AbortSignal) => {
    const r = await o.defender.request<{ value?: MachineAction[] }>('GET', `/api/machineactions?$filter=${encodeURIComponent(`machineId eq ${odataString(machineId)}`)}`, undefined, stop);
    return (r.body?.value ?? []).filter((a) => a.type === 'Isolate' || a.type === 'Unisolate').sort(newestBy('creationDateTimeUtc'))[0];
  };

  const follow = async (first: MachineAction, verb: string, noun: string, stop?: AbortSignal) => {
    const started = Date.now();
    let action = first;
    let waited = 0;
    let wait = pollMs;
    for (;;) {
      const what = action.computerDnsName ?? action.machineId ?? 'the machine';
      if (action.status === 'Succeeded') return { machineActionId: action.id };
      if (FAILED.has(action.status ?? '')) throw new UpstreamError(DEFENDER, 422, `Defender could not ${verb} ${what}: ${action.status}`);
      if (Math.max(Date.now() - started, waited) >= maxWaitMs)
        throw new UpstreamError(DEFENDER, 0, `Defender has not finished the ${noun} of ${what} after ${Math.ceil(maxWaitMs / 1000)} s (still ${action.status ?? 'unknown'})`);
      await sleep(wait, stop);
      waited += wait;
      wait = pollMs;
      try {
        const r = await o.defender.request<MachineAction>('GET', `/api/machineactions/${action.id}`, undefined, stop);
        if (r.status === 404 || !r.body) throw new UpstreamError(DEFENDER, 404, `Defender has no machine action ${action.id}`);
        action = r.body;
      } catch (e) {
        if (!(e instanceof UpstreamError && e.status === 429)) throw e;
        wait = Math.min(MAX_INLINE_WAIT_MS, e.retryAfterMs ?? pollMs);
      }
    }
  };

  const act = async (type: IsolationType, machineId: string, body: Record<string, string>, stop?: AbortSignal) => {
    const id = checkedId(machineId);
    const [verb, noun] = type === 'Isolate' ? ['isolate', 'isolation'] : ['release', 'release'];
    const underWay = async () => {
      const latest = await latestIsolationAction(id, stop);
      return latest?.type === type && UNDER_WAY.has(latest.status ?? '') && isGuid(latest.id) ? latest : undefined;
    };
    const current = await underWay();
    if (current) return follow(current, verb, noun, stop);
    let created: { status: number; body?: MachineAction };
    try {
      created = await o.defender.request<MachineAction>('POST', `/api/machines/${id}/${type.toLowerCase()}`, body, stop);
    } catch (e) {
      const raced = e instanceof UpstreamError && e.status === 400 ? await underWay() : undefined;
      if (raced) return follow(raced, verb, noun, stop);
      throw e;
    }
    if (created.status === 404) throw new UpstreamError(DEFENDER, 404, `Defender has no machine ${id}`);
    if (!created.body || !isGuid(created.body.id ?? '')) throw new UpstreamError(DEFENDER, 502, `Defender accepted the ${noun} of ${id} but returned no machine action`);
    return follow(created.body, verb, noun, stop);
  };

  return {
    async findMachine(host, stop) {
      const name = host.trim().toLowerCase();
      if (!HOST.test(name)) throw new AppError('BAD_REQUEST', `"${host.slice(0, 60)}" is not a host name`);
      const short = name.split('.')[0]!;
      let [m] = await machinesNamed(name, stop);
      if (!m && short !== name) [m] = await machinesNamed(short, stop);
      if (!m) return undefined;
      const azureResourceId = azureResourceIdOf(m);
      return { id: m.id, computerDnsName: m.computerDnsName, ...(azureResourceId ? { azureResourceId } : {}) };
    },
    isolate: (machineId, comment, stop) => act('Isolate', machineId, { Comment: comment, IsolationType: 'Full' }, stop),
    release: (machineId, comment, stop) => act('Unisolate', machineId, { Comment: comment }, stop),
  };
}
