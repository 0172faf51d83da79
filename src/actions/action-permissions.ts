import { createMembershipCheck, type GroupMembership, type MembershipCheck, type Permission } from '../auth/membership';
import { ACTION_KINDS, ACTION_LABELS, type ActionKind } from './action-kinds';
import type { ApprovalPolicy } from './approval-policy';

export interface ActionPermissions {
  mayRequest(kind: ActionKind, user: string | undefined): Promise<Permission>;
  mayApprove(kind: ActionKind, user: string | undefined): Promise<Permission>;
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
          request: createMembershipCheck({ membership, groupIds: p.requesterGroups, userIds: p.requesterUsers, role: `${label} requester`, unconfigured: `nobody may request ${label} in this Vigil (see its action policy)` }),
          approve: createMembershipCheck({ membership, groupIds: p.approverGroups, userIds: p.approverUsers, role: `${label} approver`, unconfigured: `nobody may approve ${label} in this Vigil (see its action policy)` }),
        },
      ];
    }),
  ) as Record<ActionKind, { request: MembershipCheck; approve: MembershipCheck }>;
  return {
    mayRequest: (kind, user) => checks[kind].request.check(user),
    mayApprove: (kind, user) => checks[kind].approve.check(user),
  };
}
