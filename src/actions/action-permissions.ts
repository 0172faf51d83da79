import { createMembershipCheck, type GroupMembership, type MembershipCheck, type Permission } from '../auth/membership';
import { ACTION_KINDS, ACTION_LABELS, type ActionKind } from './action-kinds';
import type { ApprovalPolicy } from './approval-policy';

export interface ActionPermissions {
  mayRequest(kind: ActionKind, user: string | undefined): Promise<Permission>;
  mayApprove(kind: ActionKind, user: string | undefined): Promise<Permission>;
  /** Whether the user may request or approve at least one kind: everyone the policy names. */
  mayTakePart(user: string | undefined): Promise<Permission>;
}

/** Who may ask for and who may decide on each kind, from the policy, through one membership cache. */
export function createActionPermissions(policy: ApprovalPolicy, membership: GroupMembership): ActionPermissions {
  const checks = Object.fromEntries(
    ACTION_KINDS.map((kind): [ActionKind, { request: MembershipCheck; approve: MembershipCheck }] => {
      const p = policy[kind];
      const label = ACTION_LABELS[kind];
      return [
        kind,
        {
          request: createMembershipCheck({
            membership,
            groupIds: p.requesterGroups,
            userIds: p.requesterUsers,
            role: `${label} requester`,
            unconfigured: `nobody may request ${label} in this Vigil (see its action policy)`,
          }),
          approve: createMembershipCheck({
            membership,
            groupIds: p.approverGroups,
            userIds: p.approverUsers,
            role: `${label} approver`,
            unconfigured: `nobody may approve ${label} in this Vigil (see its action policy)`,
          }),
        },
      ];
    }),
  ) as Record<ActionKind, { request: MembershipCheck; approve: MembershipCheck }>;
  const everyone = (pick: (p: ApprovalPolicy[ActionKind]) => string[]) => [...new Set(ACTION_KINDS.flatMap((k) => pick(policy[k]).map((id) => id.toLowerCase())))];
  // One list of everyone named anywhere in the policy: one Graph call answers it, whatever the kinds.
  const participants = createMembershipCheck({
    membership,
    groupIds: everyone((p) => [...p.requesterGroups, ...p.approverGroups]),
    userIds: everyone((p) => [...p.requesterUsers, ...p.approverUsers]),
    role: 'action requester or approver',
    unconfigured: 'the action policy names no requesters or approvers',
  });
  return {
    mayTakePart: (user) => participants.check(user),
    mayRequest: (kind, user) => checks[kind].request.check(user),
    mayApprove: (kind, user) => checks[kind].approve.check(user),
  };
}
