import type { GraphClient } from '../graph/graph-client';
import { createTtlCache } from '../enrichment/ttl-cache';

export type Permission = { allowed: true } | { allowed: false; reason: string };

export interface ResponderCheck {
  /** Whether the Entra user may run responder-only commands, with a reason the user understands. */
  check(aadObjectId: string | undefined): Promise<Permission>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GRAPH_GROUPS_PER_CALL = 20;

/**
 * Responders are listed users, or members (transitively) of listed Entra groups, checked through
 * Graph `checkMemberGroups` and remembered briefly. With neither list configured nobody is a
 * responder: a permission never defaults to open.
 */
export function createResponderCheck(o: { graph?: GraphClient; groupIds: string[]; userIds: string[]; cacheTtlMs?: number }): ResponderCheck {
  const cache = createTtlCache<Permission>(o.cacheTtlMs ?? 300_000);
  const configured = o.groupIds.length > 0 || o.userIds.length > 0;
  const viaGroups = async (id: string): Promise<Permission> => {
    if (o.groupIds.length === 0 || !o.graph) return { allowed: false, reason: 'you are not on the responder list' };
    try {
      for (let i = 0; i < o.groupIds.length; i += GRAPH_GROUPS_PER_CALL) {
        const r = await o.graph.post<{ value: string[] }>(`/users/${encodeURIComponent(id)}/checkMemberGroups`, { groupIds: o.groupIds.slice(i, i + GRAPH_GROUPS_PER_CALL) });
        if ((r?.value ?? []).length > 0) return { allowed: true };
      }
      return { allowed: false, reason: 'you are not a member of a responder group' };
    } catch {
      return { allowed: false, reason: 'your group membership could not be checked right now (Microsoft Graph did not answer); try again shortly' };
    }
  };
  return {
    async check(id) {
      if (!configured) return { allowed: false, reason: 'no responders are configured (VIGIL_RESPONDER_GROUP_IDS or VIGIL_RESPONDER_USER_IDS)' };
      if (!id || !GUID.test(id)) return { allowed: false, reason: 'Teams did not say who you are' };
      if (o.userIds.some((u) => u.toLowerCase() === id.toLowerCase())) return { allowed: true };
      return cache.get(id.toLowerCase(), () => viaGroups(id), (p) => p.allowed || !p.reason.includes('could not be checked'));
    },
  };
}
