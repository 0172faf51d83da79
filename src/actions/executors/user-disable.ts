import { UpstreamError } from '../../http/upstream-error';
import type { GraphClient } from '../../graph/graph-client';
import { isGuid, isUserId } from '../../ids';

/** An Entra account as Graph names it: its object id (lower case) and its UPN. */
export interface ResolvedAccount {
  id: string;
  userPrincipalName: string;
  displayName?: string;
}

export interface UserDisabler {
  /**
   * The account behind a UPN or an object id, as Graph has it (`GET /users/{id}?$select=…`), or
   * undefined when Graph knows no such user. Throws `UpstreamError` when Graph cannot be asked.
   */
  resolve(user: string, signal?: AbortSignal): Promise<ResolvedAccount | undefined>;
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
    if (!isUserId(user)) throw new Error(`"${user.slice(0, 60)}" is not an Entra object id or a UPN`);
    return `/users/${encodeURIComponent(user)}`;
  };
  return {
    async resolve(user) {
      const u = await o.graph.get<{ id?: unknown; userPrincipalName?: unknown; displayName?: unknown }>(`${path(isGuid(user) ? user.toLowerCase() : user)}?$select=id,userPrincipalName,displayName`);
      if (!u) return undefined;
      if (typeof u.id !== 'string' || !isGuid(u.id) || typeof u.userPrincipalName !== 'string')
        throw new UpstreamError('Microsoft Graph', 502, "Microsoft Graph answered without the account's id and UPN");
      return { id: u.id.toLowerCase(), userPrincipalName: u.userPrincipalName, ...(typeof u.displayName === 'string' ? { displayName: u.displayName } : {}) };
    },
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
