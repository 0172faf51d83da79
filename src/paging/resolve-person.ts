import type { GraphClient } from '../graph/graph-client';
import { createTtlCache } from '../enrichment/ttl-cache';
import type { Queryable } from '../store/db';
import { getTeamsUser, teamsUserNames } from '../store/teams-user-repository';
import { isGuid } from '../ids';

export interface ResolvedPerson {
  /** The Entra object id, lower case; absent when nobody by that name is known. */
  aadObjectId?: string;
  /** What people call them: the Entra display name, then the Teams name, then the UPN; an id only as the last resort. */
  name: string;
  upn?: string;
}

/**
 * Turns a person named in the schedule (or an object id from the audit) into an Entra object id
 * and a display name. Graph (when configured) names the person as the directory does; the Teams
 * users Vigil has seen fill in when Graph is absent or fails; the id or UPN itself is the last
 * fallback. Found people are cached for five minutes; a miss is retried on the next call.
 * Never throws.
 */
export function createPersonResolver(o: { db: Queryable; graph?: GraphClient }) {
  const cache = createTtlCache<ResolvedPerson>(300_000);
  const fromGraph = (person: string) =>
    o.graph?.get<{ id: string; displayName?: string; userPrincipalName?: string }>(`/users/${encodeURIComponent(person)}?$select=id,displayName,userPrincipalName`).catch(() => undefined) ??
    Promise.resolve(undefined);
  return (person: string): Promise<ResolvedPerson> =>
    cache.get(
      person.toLowerCase(),
      async () => {
        if (isGuid(person)) {
          const [user, teams] = await Promise.all([fromGraph(person), getTeamsUser(o.db, person).catch(() => undefined)]);
          const name = user?.displayName || teams?.name || user?.userPrincipalName || person;
          return { aadObjectId: person.toLowerCase(), name, upn: user?.userPrincipalName };
        }
        const user = await fromGraph(person);
        return user ? { aadObjectId: user.id.toLowerCase(), name: user.displayName || person, upn: user.userPrincipalName } : { name: person };
      },
      // An id that found no name is asked again next time: Graph may answer then.
      (r) => r.aadObjectId !== undefined && r.name.toLowerCase() !== r.aadObjectId,
    );
}

export type PersonResolver = ReturnType<typeof createPersonResolver>;

/**
 * Display names for object ids, keyed lower case: the Teams users Vigil has seen first (no call
 * out), then `resolve` (Graph) for the rest. An id nobody can name is left out, so the caller
 * shows its own fallback.
 */
export async function peopleNames(db: Queryable, ids: string[], resolve?: (person: string) => Promise<{ name: string }>): Promise<Map<string, string>> {
  const names = await teamsUserNames(db, ids);
  const missing = [...new Set(ids.map((id) => id.toLowerCase()))].filter((id) => !names.has(id) && isGuid(id));
  if (resolve) {
    const found = await Promise.all(missing.map(async (id) => [id, (await resolve(id)).name] as const));
    for (const [id, name] of found) if (name.toLowerCase() !== id) names.set(id, name);
  }
  return names;
}
