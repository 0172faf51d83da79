import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { claimRunnableActions, expireRequests, extendLease, failAbandonedActions, finishAction, getAction, resultOf, retryActionAt, type Attempt, type StoredAction } from '../store/action-repository';
import { isAppError } from '../errors';
import { backoffDelay } from '../http/retry-policy';
import { createClaimLoop, type ClaimedRun } from '../jobs/claim-loop';
import { actionTitle, type ActionTarget } from './action-kinds';
import { canonicalTarget } from './canonical-target';
import { checkTarget, type Guardrails } from './guardrails';
import type { NsgBlocker } from './executors/nsg-block';
import type { UserDisabler } from './executors/user-disable';
import type { VmFinder, VmIsolator } from './executors/vm-isolate';
import type { ActionResult, ActionResults, UndoResults } from './action-results';
import type { MachineIsolator } from './executors/mde-isolate';
import type { HashBlocker } from './executors/mde-indicator';

/** Submits and withdraws threat-intelligence indicators in the Sentinel workspace; `signal` stops the call. */
export interface IndicatorStore {
  createThreatIndicator(i: { value: string; type: 'ip' | 'domain' | 'url' | 'hash'; description: string; labels?: string[] }, signal?: AbortSignal): Promise<{ name: string }>;
  findThreatIndicators(label: string, keyword: string, signal?: AbortSignal): Promise<string[]>;
  deleteThreatIndicator(name: string, signal?: AbortSignal): Promise<{ removed: boolean }>;
}

export interface Executors {
  nsg?: NsgBlocker;
  users?: UserDisabler;
  vms?: VmIsolator;
  /** Reads a VM's tags in Azure before either isolation path; `vms` does when this is not set. */
  vmFinder?: VmFinder;
  machines?: MachineIsolator;
  hashes?: HashBlocker;
  indicators?: IndicatorStore;
}

export interface ActionWorkerOptions {
  db: Db;
  executors: Executors;
  guardrails: Guardrails;
  /**
   * An action changed state. Its effects (card redraws, the Sentinel comment and label) are
   * already queued in the store with the change; this only says "look now" to whoever runs them.
   */
  onChange?: (action: StoredAction) => void;
  logger: Logger;
  clock?: () => Date;
  leaseMs?: number;
  maxAttempts?: number;
  pollMs?: number;
  /** Actions run at once by this process; more wait in the store for the next free slot. */
  concurrency?: number;
}

/** `stopped`: another process took the action over, so this run records and applies nothing. */
type Outcome = { ok: true; detail: ActionResult } | { ok: false; retry: boolean; retryAfterMs?: number; error: string } | { stopped: true; error: string };

const RETRIABLE_STATUS = new Set([0, 409, 412, 429, 500, 502, 503, 504]);

/** A refusal made before any call: final, never retried. */
class Refused extends Error {}

/**
 * The action service's loop: claims approved actions (`SKIP LOCKED`, with a lease), checks the
 * guardrails again, runs the executor, records every attempt, retries what can succeed later
 * (throttled, conflicting, down — never sooner than `Retry-After`). Each change of state commits
 * with its effects as durable jobs (the Sentinel comment and label, the card redraws), so a
 * process killed right after a success still gets them done. A process that dies mid-run leaves a lease that
 * runs out and another takes the action over; the executors are idempotent (a second block of
 * the same address changes nothing), so a repeat is harmless.
 */
export function createActionWorker(o: ActionWorkerOptions) {
  const clock = o.clock ?? (() => new Date());
  const maxAttempts = o.maxAttempts ?? 5;
  const leaseMs = o.leaseMs ?? 120_000;
  const concurrency = o.concurrency ?? 10;
  const x = o.executors;

  const need = <T>(executor: T | undefined, what: string): T => {
    if (!executor) throw new Refused(`${what} is not configured in this Vigil`);
    return executor;
  };

  /** Refuses, before any change, a target a guardrail protects under any name it goes by. */
  const guard = (target: ActionTarget) => {
    const verdict = checkTarget(target, o.guardrails);
    if (!verdict.allowed) throw new Refused(verdict.reason);
  };

  /**
   * Defender where it knows the host (it isolates the machine itself); else the Azure VM's NIC.
   * Either way the host is first resolved to its Azure VM, when it is one (the ARM id Defender
   * records for it, Sentinel's hint, else its name), and refused if that VM is tagged
   * `vigil-protected` or any of its names is a protected VM: the tag stops Defender too.
   */
  const isolate = async (t: Extract<ActionTarget, { kind: 'isolate-vm' }>, comment: string, signal: AbortSignal): Promise<ActionResults['isolate-vm']> => {
    if (!x.machines && !x.vms) throw new Refused('Isolate VM is not configured in this Vigil');
    const machine = await x.machines?.findMachine(t.host, signal);
    const finder = x.vmFinder ?? x.vms;
    const vm = await finder?.find(machine?.computerDnsName ?? t.host, machine?.azureResourceId ?? t.azureId, signal);
    const names: Array<[string | undefined, string]> = [
      [machine?.computerDnsName, `Defender knows ${t.host} as ${machine?.computerDnsName}`],
      [vm?.name, `${t.host} is the Azure VM ${vm?.name}`],
    ];
    for (const [host, alias] of names) {
      const verdict = host ? checkTarget({ kind: 'isolate-vm', host }, o.guardrails) : { allowed: true as const };
      if (!verdict.allowed) throw new Refused(host!.toLowerCase() === t.host ? verdict.reason : `${alias}: ${verdict.reason}`);
    }
    if (vm?.protectedByTag) {
      const sameName = vm.name.toLowerCase() === t.host.split('.')[0];
      throw new Refused(`${t.host} is ${sameName ? '' : `the Azure VM ${vm.name}, `}tagged vigil-protected${sameName ? '' : ','} and is never isolated by Vigil`);
    }
    if (machine) return { method: 'defender', machineId: machine.id, ...(vm ? { vmId: vm.vmId } : {}), ...(await x.machines!.isolate(machine.id, comment, signal)) };
    if (!vm || !x.vms) throw new Refused(`${t.host} is neither onboarded to Defender for Endpoint nor an Azure VM Vigil can see`);
    return { method: 'nsg', vmId: vm.vmId, ...(await x.vms.isolate(vm.vmId, signal)) };
  };

  /**
   * The account as Graph has it now, checked again against the protected list by object id and
   * UPN: the list or the account may have changed since the request.
   */
  const resolveAccount = async (t: Extract<ActionTarget, { kind: 'disable-user' }>, signal: AbortSignal): Promise<Extract<ActionTarget, { kind: 'disable-user' }>> => {
    const account = await need(x.users, 'Disable user').resolve(t.user, signal);
    if (!account) throw new Refused(`Entra ID has no account ${t.upn ?? t.user}`);
    const resolved = { kind: 'disable-user' as const, user: account.id, upn: account.userPrincipalName.toLowerCase() };
    guard(resolved);
    return resolved;
  };

  /** The Undo goes the way the isolation went, as its result recorded. */
  const release = async (before: ActionResults['isolate-vm'] | undefined, comment: string, signal: AbortSignal): Promise<UndoResults['isolate-vm']> => {
    if (!before) throw new Refused('the isolation to undo recorded no result');
    if (before.method === 'defender') return need(x.machines, 'Isolation through Defender for Endpoint').release(before.machineId, comment, signal);
    return need(x.vms, 'Isolate VM').release(before.previousNsgId, signal);
  };

  /** Marks every indicator an action submits, so that a retry and the Undo can find it again. */
  const indicatorLabel = (actionId: string) => `vigil-action-${actionId}`;

  /**
   * Submitting is not idempotent in Sentinel (each call makes a new indicator): a retry first looks
   * for the one an interrupted attempt may have made.
   */
  const submitIndicator = async (a: StoredAction, t: Extract<ActionTarget, { kind: 'add-indicator' }>, comment: string, signal: AbortSignal): Promise<ActionResults['add-indicator']> => {
    const ti = need(x.indicators, 'Threat intelligence');
    if (a.attempts > 1) {
      const [earlier] = await ti.findThreatIndicators(indicatorLabel(a.id), a.id, signal);
      if (earlier) return { name: earlier, foundFromEarlierAttempt: true };
    }
    return ti.createThreatIndicator({ value: t.indicator, type: t.type, description: comment, labels: ['vigil', indicatorLabel(a.id)] }, signal);
  };

  /** Removes the indicator the action recorded and any copy an interrupted attempt left. */
  const withdrawIndicator = async (original: StoredAction, signal: AbortSignal): Promise<UndoResults['add-indicator']> => {
    const ti = need(x.indicators, 'Threat intelligence');
    const recorded = resultOf(original, 'add-indicator')?.name;
    const names = new Set([...(recorded ? [recorded] : []), ...(await ti.findThreatIndicators(indicatorLabel(original.id), original.id, signal))]);
    const removed: string[] = [];
    for (const name of names) if ((await ti.deleteThreatIndicator(name, signal)).removed) removed.push(name);
    return { removed: removed.length > 0, names: removed };
  };

  const run = async (a: StoredAction, t: ActionTarget, signal: AbortSignal): Promise<ActionResult> => {
    const undo = a.undoOf ? await getAction(o.db, a.undoOf) : undefined;
    if (a.undoOf && !undo) throw new Refused('the action to undo no longer exists');
    const comment = `Vigil ${actionTitle(a.kind, Boolean(undo))}, action ${a.id}`;
    switch (t.kind) {
      case 'block-ip':
        return undo ? need(x.nsg, 'Block IP').unblock(t.ip, signal) : need(x.nsg, 'Block IP').block(t.ip, signal);
      case 'disable-user':
        if (undo) {
          await need(x.users, 'Disable user').enable(t.user, signal);
          return { enabled: true as const };
        }
        return need(x.users, 'Disable user').disable(t.user, signal);
      case 'isolate-vm':
        return undo ? release(resultOf(undo, 'isolate-vm'), comment, signal) : isolate(t, comment, signal);
      case 'block-hash':
        if (undo) return need(x.hashes, 'Block file hash').unblock(resultOf(undo, 'block-hash')?.indicatorId ?? '', signal);
        return need(x.hashes, 'Block file hash').block(t.hash, t.algorithm, { title: `Vigil: blocked ${t.hash.slice(0, 16)}…`, description: comment }, signal);
      case 'add-indicator':
        return undo ? withdrawIndicator(undo, signal) : submitIndicator(a, t, comment, signal);
    }
  };

  const execute = async (a: StoredAction, signal: AbortSignal): Promise<Outcome> => {
    try {
      let target = a.target;
      if (!a.undoOf) {
        // Checked again here, on the canonical and resolved target: the guardrails may have changed since the request.
        const canonical = canonicalTarget(a.target);
        if (!canonical.ok) throw new Refused(canonical.reason);
        target = canonical.target;
        guard(target);
        if (target.kind === 'disable-user') target = await resolveAccount(target, signal);
      }
      return { ok: true, detail: await run(a, target, signal) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // Whatever the executor threw on its way out, a stopped run is neither retried nor finished.
      if (signal.aborted) return { stopped: true, error: message.slice(0, 300) };
      const status = (e as { status?: number }).status ?? 0;
      const retry = !(e instanceof Refused) && !isAppError(e) && RETRIABLE_STATUS.has(status);
      return { ok: false, retry, retryAfterMs: (e as { retryAfterMs?: number }).retryAfterMs, error: message.slice(0, 300) };
    }
  };

  const changed = (a: StoredAction) => {
    try {
      o.onChange?.(a);
    } catch (e) {
      o.logger.warn({ err: e, action: a.id }, 'could not nudge the redraw of the action');
    }
  };

  /**
   * The store write that ends an attempt, tried a few times: after an executor has acted, losing
   * its record to a database blip would leave the action to run again once its lease ran out.
   */
  const settle = async <T>(write: () => Promise<T>, a: StoredAction): Promise<T> => {
    for (let n = 1; ; n++) {
      try {
        return await write();
      } catch (e) {
        if (n >= 4) throw e;
        o.logger.warn({ err: e, action: a.id, try: n }, 'could not record the attempt; trying again');
        await new Promise((r) => setTimeout(r, 500 * 2 ** n));
      }
    }
  };

  /**
   * Keeps the lease while the executor works. When another process has taken the action over, it
   * stops the run (`stop` aborts every call in flight and every wait) and says so loudly: two
   * processes must not keep calling Azure for one action.
   */
  const holdLease = (a: StoredAction, stop: AbortController) => {
    const heartbeat = setInterval(() => {
      extendLease(o.db, a, leaseMs, clock())
        .then((ours) => {
          if (!ours && !stop.signal.aborted) {
            stop.abort();
            o.logger.error({ action: a.id, attempt: a.attempts }, 'lost the lease on a running action (database unreachable too long, or clocks out of step): stopping it');
          }
        })
        .catch((e: unknown) => o.logger.warn({ err: e, action: a.id }, 'could not extend the lease'));
    }, leaseMs / 3);
    heartbeat.unref();
    return () => clearInterval(heartbeat);
  };

  const runOne = async (a: StoredAction) => {
    changed(a);
    const started = clock();
    const stop = new AbortController();
    const stopHeartbeat = holdLease(a, stop);
    const outcome = await execute(a, stop.signal).finally(stopHeartbeat);
    if ('stopped' in outcome) {
      // The action is another process's now: it records the outcome, comments and redraws.
      o.logger.warn({ action: a.id, attempt: a.attempts, error: outcome.error }, 'action run stopped: another process took it over');
      return;
    }
    const ended = clock();
    const retry = !outcome.ok && outcome.retry && a.attempts < maxAttempts;
    const attempt: Attempt = { started, ended, outcome: outcome.ok ? 'succeeded' : retry ? 'retrying' : 'failed', detail: outcome.ok ? outcome.detail : { error: outcome.error } };
    if (!outcome.ok && retry) {
      const at = new Date(ended.getTime() + backoffDelay(a.attempts, { baseMs: 1000, maxMs: 60_000, retryAfterMs: outcome.retryAfterMs }));
      o.logger.info({ action: a.id, attempt: a.attempts, error: outcome.error, retryAt: at }, 'action will be retried');
      if (await settle(() => retryActionAt(o.db, a, attempt, at), a)) changed(a);
      return;
    }
    const finished = await settle(() => finishAction(o.db, a, attempt, { state: outcome.ok ? 'succeeded' : 'failed', result: outcome.ok ? outcome.detail : { error: outcome.error } }), a);
    if (!finished) return;
    o.logger[outcome.ok ? 'info' : 'error']({ action: a.id, kind: a.kind, state: finished.state, attempts: a.attempts }, 'action finished');
    changed(finished);
  };

  /** Expires what nobody decided on, ends what every attempt died on, then claims what fits in `room`. */
  const claim = async (room: number): Promise<ClaimedRun[]> => {
    for (const expired of await expireRequests(o.db, clock())) changed(expired);
    for (const gaveUp of await failAbandonedActions(o.db, clock(), maxAttempts)) {
      o.logger.error({ action: gaveUp.id, kind: gaveUp.kind, attempts: gaveUp.attempts }, 'action failed: every attempt died with its process');
      changed(gaveUp);
    }
    if (room <= 0) return [];
    const claimed = await claimRunnableActions(o.db, room, leaseMs, clock(), maxAttempts);
    return claimed.map((a) => () => runOne(a));
  };

  const loop = createClaimLoop({
    claim,
    concurrency,
    pollMs: o.pollMs ?? 1000,
    onLookFailed: (e) => o.logger.error({ err: e }, 'action worker could not read its queue; retrying'),
    onRunCrashed: (e) => o.logger.error({ err: e }, 'action run crashed; its lease will run out and it will be tried again'),
  });

  return {
    /** Runs what is due now (and expires requests nobody decided on) and waits for it; returns how many actions ran. */
    tick: loop.tick,
    /** Look at the queue now (an approval was just given) rather than at the next poll. */
    kick: loop.kick,
    start: loop.start,
    /** Stops looking for work and waits for the actions already running. */
    stop: loop.stop,
  };
}

export type ActionWorker = ReturnType<typeof createActionWorker>;
