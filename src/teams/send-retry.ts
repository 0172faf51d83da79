import { retryDelay, type RetryPolicy } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';
import { BOT_CONNECTOR } from './connector-client';

/** Statuses Teams documents as "try again": throttled, precondition, gateway errors; 0 = no answer. */
export const TEAMS_RETRIABLE: ReadonlySet<number> = new Set([0, 412, 429, 500, 502, 503, 504]);

export interface SendBackoff {
  baseBackoffMs: number;
  maxBackoffMs: number;
  random?: () => number;
}

/**
 * When a failed Teams send (a card, a digest, a page card, a mention, a 1:1 chat) is tried again:
 * the one retry policy of `src/http/` with Teams' retriable statuses, full jitter and `Retry-After`,
 * but never given up — a send that cannot be retried now waits `maxBackoffMs` and is tried again,
 * because nothing sent to Teams is dropped.
 */
export function sendRetryDelay(e: unknown, attempts: number, o: SendBackoff): { retriable: boolean; delayMs: number; status: number } {
  const error = e instanceof UpstreamError ? e : new UpstreamError(BOT_CONNECTOR, 0, e instanceof Error ? e.message : String(e));
  const policy: RetryPolicy = {
    maxAttempts: Number.POSITIVE_INFINITY,
    baseDelayMs: o.baseBackoffMs,
    maxDelayMs: o.maxBackoffMs,
    budgetMs: Number.POSITIVE_INFINITY,
    maxInlineWaitMs: Number.POSITIVE_INFINITY,
    retriableStatuses: TEAMS_RETRIABLE,
  };
  const delay = retryDelay(policy, Math.max(1, attempts), error, 0, o.random);
  return { retriable: delay !== undefined, delayMs: delay ?? o.maxBackoffMs, status: error.status };
}
