/**
 * Any upstream's failure, coded: which upstream, the HTTP status (0 when nothing answered), the
 * upstream's own error code where it gave one, and how long it asked us to wait. The message is
 * fit for a card or a log line: it never carries a header, a key, a token or a request body.
 */
export class UpstreamError extends Error {
  readonly upstream: string;
  readonly status: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  /** Nothing answered within the call's timeout (status 0). */
  readonly timedOut: boolean;

  constructor(upstream: string, status: number, message: string, o: { code?: string; retryAfterMs?: number; timedOut?: boolean } = {}) {
    super(message);
    this.name = 'UpstreamError';
    this.upstream = upstream;
    this.status = status;
    this.code = o.code;
    this.retryAfterMs = o.retryAfterMs;
    this.timedOut = o.timedOut ?? false;
  }
}

export const isUpstreamError = (e: unknown, upstream?: string): e is UpstreamError => e instanceof UpstreamError && (upstream === undefined || e.upstream === upstream);

/** The short reason a card shows for a failed call. */
export const reasonOf = (e: unknown): string => (e instanceof UpstreamError ? e.message : 'unexpected error');
