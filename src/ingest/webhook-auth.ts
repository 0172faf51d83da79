import crypto from 'node:crypto';
import { AppError } from '../errors';

/**
 * Checks `Authorization: Bearer <secret>` in constant time (comparing digests, so neither the
 * content nor the length of the secret leaks through timing).
 */
export function checkWebhookSecret(authorization: string | undefined, secret: string): void {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <VIGIL_WEBHOOK_SECRET>');
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  if (!crypto.timingSafeEqual(digest(match[1]!.trim()), digest(secret))) {
    throw new AppError('UNAUTHORIZED', 'the bearer secret does not match VIGIL_WEBHOOK_SECRET');
  }
}
