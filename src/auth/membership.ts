import type { GraphClient } from '../graph/graph-client';
import { createTtlCache } from '../enrichment/ttl-cache';
import { isGuid } from '../ids';

export type Permission = { allowed: true } | { allowed: false; reason: string };

export interface MembershipCheck {
  /** Whether the Entra user holds this role, with a reason the user understands when not. */
  check(aadObjectId: string | undefined): Promise<Permission>;
}

const GRAPH_GROUPS_PER_CALL = 20;
const GRAPH_FAILED = 'your group membership could not be checked right now (Microsoft Graph did not answer); try again shortly';

/**
 * Transitive group membership through Graph `checkMemberGroups`, remembered briefly per user and
 * group list, shared by every role (responders, requesters and approvers of each action kind) so
 * that one click costs at most one Graph call per list. A failed check is not remembered.
 */
export function createGroupMembership(o: { graph?: GraphClient; cacheTtlMs?: number }) {
  const cache = createTtlCache<boolean | 'unknown'>(o.cacheTtlMs ?? 300_000);
  const load = async (user: string, groupIds: string[]): Promise<boolean | 'unknown'> => {
    if (!o.graph) return false;
    try {
      for (let i = 0; i < groupIds.length; i += GRAPH_GROUPS_PER_CALL) {
        const r = await o.graph.post<{ value: string[] }>(`/users/${encodeURIComponent(user)}/checkMemberGroups`, { groupIds: groupIds.slice(i, i + GRAPH_GROUPS_PER_CALL) });
        if ((r?.value ?? []).length > 0) return true;
      }
      return false;
    } catch {
      return 'unknown';
    }
  };
  return {
    /** True, false, or 'unknown' when Graph could not be asked. */
    isMember: (user: string, groupIds: string[]) =>
      cache.get(
        `${user.toLowerCase()}|${[...groupIds].sort().join(',')}`,
        () => load(user, groupIds),
        (v) => v !== 'unknown',
      ),
  };
}

export type GroupMembership = ReturnType<typeof createGroupMembership>;

/**
 * A role held by listed users or by members (transitively) of listed Entra groups. With neither
 * list configured nobody holds it: a permission never defaults to open.
 */
export function createMembershipCheck(o: { membership: GroupMembership; groupIds: string[]; userIds: string[]; role: string; unconfigured: string }): MembershipCheck {
  return {
    async check(id) {
      if (o.groupIds.length === 0 && o.userIds.length === 0) return { allowed: false, reason: o.unconfigured };
      if (!id || !isGuid(id)) return { allowed: false, reason: 'Teams did not say who you are' };
      if (o.userIds.some((u) => u.toLowerCase() === id.toLowerCase())) return { allowed: true };
      if (o.groupIds.length === 0) return { allowed: false, reason: `you are not on the ${o.role} list` };
      const member = await o.membership.isMember(id, o.groupIds);
      if (member === 'unknown') return { allowed: false, reason: GRAPH_FAILED };
      return member ? { allowed: true } : { allowed: false, reason: `you are not a member of a ${o.role} group` };
    },
  };
}

/** Who may run `kql`: responders, from VIGIL_RESPONDER_GROUP_IDS and VIGIL_RESPONDER_USER_IDS. */
export const createResponderCheck = (o: { membership: GroupMembership; groupIds: string[]; userIds: string[] }): MembershipCheck =>
  createMembershipCheck({ ...o, role: 'responder', unconfigured: 'no responders are configured (VIGIL_RESPONDER_GROUP_IDS or VIGIL_RESPONDER_USER_IDS)' });
