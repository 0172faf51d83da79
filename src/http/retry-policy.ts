import type { UpstreamError } from './upstream-error';

/**
 * When a failed call is tried again. One policy for every upstream; clients only change numbers.
 * Exponential backoff with full jitter (a uniformly random wait up to the exponential ceiling), a
 * `Retry-After` the upstream sent always wins, and a time budget bounds the whole call.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The ceiling of the first backoff; it doubles per attempt, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The whole call, every attempt and wait included, ends within this. */
  budgetMs: number;
  /**
   * The longest `Retry-After` slept in place. A longer one ends the call with the error (and its
   * `retryAfterMs`), so a caller with a store — the action worker, the outbox — reschedules instead.
   */
  maxInlineWaitMs: number;
  /** HTTP statuses worth another try; 0 (no answer: timeout, connection refused) is always one. */
  retriableStatuses: ReadonlySet<number>;
}

export const RETRIABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  budgetMs: 60_000,
  maxInlineWaitMs: 30_000,
  retriableStatuses: RETRIABLE_STATUSES,
};

/** No second attempt: for calls whose caller retries on its own terms (a card click's answer). */
export const NO_RETRY: Partial<RetryPolicy> = { maxAttempts: 1 };

/**
 * How long to wait before attempt `attempt + 1` after `error`, or undefined to give up now.
 * Pure: `random` and `elapsedMs` come from the caller, so tests pin both.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, error: UpstreamError, elapsedMs: number, random: () => number = Math.random): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  if (error.status !== 0 && !policy.retriableStatuses.has(error.status)) return undefined;
  if (error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxInlineWaitMs) return undefined;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const wait = error.retryAfterMs ?? Math.floor(random() * ceiling);
  return elapsedMs + wait > policy.budgetMs ? undefined : wait;
}

/**
 * The wait before a queued job's attempt `attempt + 1` (an action, an effect): full jitter up to
 * the exponential ceiling, and never sooner than the upstream's `Retry-After`. For callers with a
 * store, which reschedule rather than sleep, so no budget applies.
 */
export function backoffDelay(attempt: number, o: { baseMs: number; maxMs: number; retryAfterMs?: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** (Math.max(1, attempt) - 1));
  return Math.max(o.retryAfterMs ?? 0, Math.floor(random() * ceiling));
}
