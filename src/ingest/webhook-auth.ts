import crypto from 'node:crypto';
import { AppError } from '../errors';
import type { EntraCaller } from './entra-token';

/** How the caller proved itself; logged with every incident received. */
export type WebhookCaller = { kind: 'secret' } | ({ kind: 'entra' } & EntraCaller);

export type WebhookAuth = (authorization: string | undefined) => Promise<WebhookCaller>;

/** Three base64url segments: worth handing to the token check rather than calling it a wrong secret. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * Compares in constant time (digests, so neither the content nor the length of the secret leaks
 * through timing).
 */
const secretMatches = (presented: string, secret: string): boolean => {
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(presented), digest(secret));
};

/**
 * Checks `Authorization: Bearer <credential>` against the shared secret, an Entra ID token
 * (`verifyEntraToken`), or either when both are configured. Throws UNAUTHORIZED with a reason
 * that never repeats the credential.
 */
export function createWebhookAuth(o: { secret?: string; verifyEntraToken?: (token: string) => Promise<EntraCaller> }): WebhookAuth {
  const expected = [o.secret && '<VIGIL_WEBHOOK_SECRET>', o.verifyEntraToken && '<Entra ID token>'].filter(Boolean).join(' or ');
  return async (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!match) throw new AppError('UNAUTHORIZED', `send Authorization: Bearer ${expected}`);
    const credential = match[1]!.trim();
    if (o.secret !== undefined && secretMatches(credential, o.secret)) return { kind: 'secret' };
    if (o.verifyEntraToken && JWT_SHAPE.test(credential)) return { kind: 'entra', ...(await o.verifyEntraToken(credential)) };
    throw new AppError('UNAUTHORIZED', o.secret !== undefined ? 'the bearer secret does not match VIGIL_WEBHOOK_SECRET' : 'the bearer credential is not an Entra ID token');
  };
}
