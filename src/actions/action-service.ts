import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { approveAction, closeRequest, expireRequests, getAction, findUndo, requestAction, type ActionCardRef, type StoredAction } from '../store/action-repository';
import { actionTitle, targetValue, type ActionKind, type ActionTarget } from './action-kinds';
import type { ActionPermissions } from './action-permissions';
import type { ActionPolicy } from './action-policy';
import { decideApproval } from './approval-policy';
import { canonicalTarget } from './canonical-target';
import type { ResolvedAccount } from './executors/user-disable';
import { checkRate, checkTarget } from './guardrails';

/** Someone in Teams: the Entra object id decides, the name is for people to read. */
export interface Actor {
  id: string;
  name?: string;
}

export type ActionOutcome = { ok: true; action: StoredAction; message: string } | { ok: false; reason: string; action?: StoredAction };

export interface ActionServiceOptions {
  db: Db;
  policy: ActionPolicy;
  permissions: ActionPermissions;
  /** Why a kind cannot run in this Vigil (its executor is not configured), or undefined if it can. */
  unavailable: (kind: ActionKind) => string | undefined;
  /**
   * The Entra account behind a UPN or object id (Graph, with a short budget: a click waits for it),
   * undefined when there is none; throws when Graph cannot be asked. Without it no account is disabled.
   */
  resolveAccount?: (user: string) => Promise<ResolvedAccount | undefined>;
  /** A request changed state (its redraws are already queued with it): look now. Failures are logged, not thrown. */
  onChange: (action: StoredAction) => void;
  clock: () => Date;
  logger: Logger;
}

const refuse = (reason: string, action?: StoredAction): ActionOutcome => ({ ok: false, reason, action });

/** "Block IP 203.0.113.66", for messages; the caller escapes it. */
export const describeAction = (a: Pick<StoredAction, 'kind' | 'target' | 'undoOf'>): string => `${actionTitle(a.kind, a.undoOf !== undefined)} ${targetValue(a.target)}`;

const waitingFor = (a: StoredAction) => a.approvalsNeeded - a.approvals.length;

/**
 * Requests and decisions. A click is a request; an authorised approver's click is a decision.
 * Every rule is checked here for a reason the user can read, and enforced again by the store's
 * conditional updates, so a race can never stretch it: whatever the order of clicks, an action is
 * approved once and runs once. Nothing here calls an executor.
 */
export function createActionService(o: ActionServiceOptions) {
  const changed = async (a: StoredAction) => {
    try {
      o.onChange(a);
    } catch (e) {
      o.logger.warn({ err: e, action: a.id }, 'could not nudge the redraw of the action');
    }
  };

  /**
   * The target every guardrail sees: canonical (NFKC, no invisible characters), and for an
   * account, resolved through Graph to its object id and UPN — protected if either is listed, so
   * a card that names the break-glass account by object id is refused as its UPN would be.
   */
  const settleTarget = async (raw: ActionTarget): Promise<{ target: ActionTarget } | { reason: string }> => {
    const canonical = canonicalTarget(raw);
    if (!canonical.ok) return { reason: `Refused: ${canonical.reason}.` };
    const verdict = checkTarget(canonical.target, o.policy.guardrails);
    if (!verdict.allowed) return { reason: `Refused: ${verdict.reason}.` };
    const t = canonical.target;
    if (t.kind !== 'disable-user') return { target: t };
    if (!o.resolveAccount) return { reason: 'Disable user needs Microsoft Graph to find the account, and it is not set up in this Vigil.' };
    let account: ResolvedAccount | undefined;
    try {
      account = await o.resolveAccount(t.user);
    } catch (e) {
      o.logger.warn({ err: e, user: t.user }, 'could not resolve the account to disable');
      return { reason: `Microsoft Graph could not be asked who ${t.user} is right now; try again shortly.` };
    }
    if (!account) return { reason: `Refused: Entra ID has no account ${t.user}.` };
    const resolved: ActionTarget = { kind: 'disable-user', user: account.id, upn: account.userPrincipalName.toLowerCase() };
    const again = checkTarget(resolved, o.policy.guardrails);
    return again.allowed ? { target: resolved } : { reason: `Refused: ${again.reason}.` };
  };

  /**
   * Records a request after the permission and guardrail checks. Besides the store, only an
   * account's look-up in Graph is waited for (short, like the membership check); where and how a
   * host is isolated is found by the worker, which holds the credentials for it and checks its
   * Azure tags on whichever path it takes.
   */
  const request = async (r: { incidentKey?: string; target: ActionTarget; by: Actor; card?: ActionCardRef; undoOf?: StoredAction }): Promise<ActionOutcome> => {
    const kind = r.target.kind;
    const title = actionTitle(kind, r.undoOf !== undefined);
    const off = o.unavailable(kind);
    if (off) return refuse(off);
    const may = await o.permissions.mayRequest(kind, r.by.id);
    if (!may.allowed) return refuse(`You cannot request ${title}: ${may.reason}.`);
    // Undoing restores what was there; the guardrails protect against acting, not against undoing.
    let target = r.undoOf?.target ?? r.target;
    if (!r.undoOf) {
      const settled = await settleTarget(r.target);
      if ('reason' in settled) return refuse(settled.reason);
      target = settled.target;
    }
    const policy = o.policy.kinds[kind];
    const now = o.clock();
    const outcome = await requestAction(
      o.db,
      {
        incidentKey: r.incidentKey,
        target,
        undoOf: r.undoOf?.id,
        requestedBy: r.by.id,
        requestedByName: r.by.name,
        approvalsNeeded: policy.approvals,
        expiresAt: new Date(now.getTime() + policy.expiresAfterMinutes * 60_000),
        card: r.card,
      },
      { now, maxPerHour: o.policy.guardrails.maxActionsPerHour },
    );
    if (outcome.kind === 'over-limit') {
      const verdict = checkRate(outcome.count, o.policy.guardrails);
      return refuse(`Refused: ${verdict.allowed ? 'too many actions this hour' : verdict.reason}.`);
    }
    const a = outcome.action;
    if (outcome.kind === 'existing') return { ok: true, action: a, message: `${describeAction(a)} was already requested by ${a.requestedByName ?? 'someone'}; it is ${a.state}.` };
    o.logger.info({ action: a.id, kind, by: r.by.id, incident: r.incidentKey }, 'action requested');
    await changed(a);
    const next = a.state === 'approved' ? 'it needs no approval and will run now' : `it needs ${a.approvalsNeeded} approval${a.approvalsNeeded === 1 ? '' : 's'} from someone other than you`;
    return { ok: true, action: a, message: `Requested ${describeAction(a)}; ${next}.` };
  };

  const approve = async (id: string, by: Actor): Promise<ActionOutcome> => {
    const a = await getAction(o.db, id);
    if (!a) return refuse('That request no longer exists.');
    const isApprover = await o.permissions.mayApprove(a.kind, by.id);
    const now = o.clock();
    // The rules first (expired, four-eyes), then membership, whose reason says which group is missing.
    const decision = decideApproval(a, by.id, true, o.policy.kinds[a.kind], now);
    if (!decision.allowed) return refuse(`You cannot approve ${describeAction(a)}: ${decision.reason}.`, a);
    if (!isApprover.allowed) return refuse(`You cannot approve ${describeAction(a)}: ${isApprover.reason}.`, a);
    const approved = await approveAction(o.db, a.id, by.id, now);
    if (!approved) {
      // Someone else's click changed it between our read and our write: say what it is now.
      const now2 = await getAction(o.db, a.id);
      const again = now2 && decideApproval(now2, by.id, true, o.policy.kinds[a.kind], now);
      return refuse(`You cannot approve ${describeAction(a)}: ${again && !again.allowed ? again.reason : 'it changed meanwhile'}.`, now2);
    }
    o.logger.info({ action: a.id, by: by.id, state: approved.state }, 'action approval');
    await changed(approved);
    const left = waitingFor(approved);
    return { ok: true, action: approved, message: approved.state === 'approved' ? `Approved: ${describeAction(approved)} will run now.` : `Approval recorded; ${left} more needed.` };
  };

  const reject = async (id: string, by: Actor, reason?: string): Promise<ActionOutcome> => {
    const a = await getAction(o.db, id);
    if (!a) return refuse('That request no longer exists.');
    const isApprover = await o.permissions.mayApprove(a.kind, by.id);
    if (!isApprover.allowed) return refuse(`You cannot reject ${describeAction(a)}: ${isApprover.reason}.`, a);
    const done = await closeRequest(o.db, a.id, { state: 'rejected', by: by.id, reason: reason?.slice(0, 500), now: o.clock() });
    if (!done) return refuse(`${describeAction(a)} can no longer be rejected: it is ${(await getAction(o.db, a.id))?.state ?? a.state}.`, a);
    await changed(done);
    return { ok: true, action: done, message: `Rejected ${describeAction(done)}.` };
  };

  const cancel = async (id: string, by: Actor): Promise<ActionOutcome> => {
    const a = await getAction(o.db, id);
    if (!a) return refuse('That request no longer exists.');
    if (a.requestedBy.toLowerCase() !== by.id.toLowerCase()) return refuse('Only the person who asked for it can cancel a request; approvers can reject it.', a);
    const done = await closeRequest(o.db, a.id, { state: 'cancelled', by: by.id, now: o.clock() });
    if (!done) return refuse(`${describeAction(a)} can no longer be cancelled: it is ${(await getAction(o.db, a.id))?.state ?? a.state}.`, a);
    await changed(done);
    return { ok: true, action: done, message: `Cancelled ${describeAction(done)}.` };
  };

  /** Asks for the Undo of a finished action: a new request of the same kind, through the same approvals. */
  const undo = async (id: string, by: Actor, card?: ActionCardRef): Promise<ActionOutcome> => {
    const a = await getAction(o.db, id);
    if (!a) return refuse('That action no longer exists.');
    if (a.undoOf) return refuse('An Undo cannot itself be undone; request the action again instead.', a);
    if (a.state !== 'succeeded') return refuse(`Only a finished action can be undone; ${describeAction(a)} is ${a.state}.`, a);
    const undone = await findUndo(o.db, a.id);
    if (undone?.state === 'succeeded') return refuse(`${describeAction(a)} was already undone.`, a);
    return request({ incidentKey: a.incidentKey, target: a.target, by, card, undoOf: a });
  };

  return {
    /** Whether `user` may request or approve some kind of action: one of the people Vigil serves. */
    mayTakePart: (user: string | undefined) => o.permissions.mayTakePart(user),
    request,
    approve,
    reject,
    cancel,
    undo,
    /** Requests nobody decided on in time; their cards then say they expired. */
    async expire(): Promise<number> {
      const expired = await expireRequests(o.db, o.clock());
      for (const a of expired) await changed(a);
      return expired.length;
    },
  };
}

export type ActionService = ReturnType<typeof createActionService>;
