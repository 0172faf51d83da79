import type { GraphClient } from '../graph/graph-client';
import { createTtlCache } from '../enrichment/ttl-cache';
import type { Queryable } from '../store/db';
import { getTeamsUser } from '../store/page-repository';
import { isPersonGuid } from './pager';

/**
 * Turns a person named in the schedule into an Entra object id and a display name: an object id
 * is looked up among the Teams users Vigil has seen; a UPN through Graph (when configured).
 * Unknown people keep their name and have no object id (they cannot get a Teams page, and the
 * page says so instead of failing quietly).
 */
export function createPersonResolver(o: { db: Queryable; graph?: GraphClient }) {
  const cache = createTtlCache<{ aadObjectId?: string; name: string }>(300_000);
  return (person: string) =>
    cache.get(
      person.toLowerCase(),
      async () => {
        if (isPersonGuid(person)) return { aadObjectId: person.toLowerCase(), name: (await getTeamsUser(o.db, person))?.name ?? person };
        const user = await o.graph?.get<{ id: string; displayName?: string }>(`/users/${encodeURIComponent(person)}?$select=id,displayName`).catch(() => undefined);
        return user ? { aadObjectId: user.id.toLowerCase(), name: user.displayName ?? person } : { name: person };
      },
      (r) => r.aadObjectId !== undefined,
    );
}
