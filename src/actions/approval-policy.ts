import { ACTION_LABELS, type ActionKind } from './action-kinds';

/** Who may ask for and who may approve one kind of action. Ids are Entra object ids. */
export interface KindPolicy {
  requesterGroups: string[];
  requesterUsers: string[];
  approverGroups: string[];
  approverUsers: string[];
  /** Distinct approvers needed, none of them the requester (four-eyes with 1, more with 2+; 0: none). */
  approvals: number;
  expiresAfterMinutes: number;
}

export type ApprovalPolicy = Record<ActionKind, KindPolicy>;

export type ActionState = 'requested' | 'approved' | 'queued' | 'running' | 'succeeded' | 'failed' | 'rejected' | 'expired' | 'cancelled';

export interface ActionRecord {
  kind: ActionKind;
  state: ActionState;
  requestedBy: string;
  approvals: string[];
  expiresAt: Date;
}

export type Decision = { allowed: true; completes: boolean } | { allowed: false; reason: string };

/**
 * Whether `actor` may approve `action` now, given whether they are in an approver group (checked
 * through Graph by the caller). Pure: the store enforces the same rules in its conditional update,
 * so a decision made here can never be stretched by a race.
 */
export function decideApproval(action: ActionRecord, actor: string, isApprover: boolean, policy: KindPolicy, now: Date): Decision {
  if (action.state !== 'requested') return { allowed: false, reason: `this request is already ${action.state}` };
  if (now >= action.expiresAt) return { allowed: false, reason: 'this request has expired; ask for it again if it is still needed' };
  if (actor.toLowerCase() === action.requestedBy.toLowerCase()) return { allowed: false, reason: 'you asked for this action, so someone else must approve it (four-eyes)' };
  if (action.approvals.some((a) => a.toLowerCase() === actor.toLowerCase())) return { allowed: false, reason: 'you have already approved this request; it needs another approver' };
  if (!isApprover) return { allowed: false, reason: `you are not an approver for ${ACTION_LABELS[action.kind]}` };
  return { allowed: true, completes: action.approvals.length + 1 >= policy.approvals };
}
