import type { GraphClient } from '../../graph/graph-client';

const USER_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[^\s/?#@]{1,113}@[^\s/?#@]{1,255})$/i;

export interface UserDisabler {
  /** `accountEnabled: false`, then every refresh token revoked (sign-ins end within minutes). */
  disable(user: string, signal?: AbortSignal): Promise<{ revoked: boolean }>;
  /** The Undo: `accountEnabled: true` (revoked sessions stay revoked: the user signs in again). */
  enable(user: string, signal?: AbortSignal): Promise<void>;
}

/**
 * Disable user through Microsoft Graph. The id must be a GUID or a UPN before it reaches a path.
 * Graph documents that `revokeSignInSessions` answers 200 with `{"value": true}` although 204 was
 * meant: that or an empty 2xx counts as revoked. A 404 there (the user gone between the two calls)
 * is thrown as "no such user", never reported as revoked.
 */
export function createUserDisabler(o: { graph: GraphClient }): UserDisabler {
  const path = (user: string) => {
    if (!USER_ID.test(user)) throw new Error(`"${user.slice(0, 60)}" is not an Entra object id or a UPN`);
    return `/users/${encodeURIComponent(user)}`;
  };
  return {
    async disable(user, signal) {
      await o.graph.patch(path(user), { accountEnabled: false }, signal);
      const r = await o.graph.postAction<{ value?: boolean }>(`${path(user)}/revokeSignInSessions`, {}, signal);
      return { revoked: r === undefined || r.value === true };
    },
    async enable(user, signal) {
      await o.graph.patch(path(user), { accountEnabled: true }, signal);
    },
  };
}
