import { isTimeout } from '../timeout';
import { parseRetryAfter } from '../teams/connector-client';

/** An upstream's failure, named for the card: never carries a header, a key or a token. */
export class UpstreamError extends Error {
  constructor(
    readonly upstream: string,
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface JsonRequest {
  upstream: string;
  url: string;
  timeoutMs: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * One JSON call with a timeout. Returns `undefined` for 404 (the upstream does not know the
 * thing, which is an answer, not a failure); throws `UpstreamError` for everything else.
 */
export async function fetchJson<T>(r: JsonRequest): Promise<T | undefined> {
  let res: Response;
  try {
    res = await fetch(r.url, {
      method: r.method ?? 'GET',
      headers: { accept: 'application/json', ...(r.body === undefined ? {} : { 'content-type': 'application/json' }), ...r.headers },
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
      signal: AbortSignal.timeout(r.timeoutMs),
    });
  } catch (e) {
    const timedOut = isTimeout(e);
    throw new UpstreamError(r.upstream, 0, timedOut ? `timed out after ${r.timeoutMs} ms` : `${r.upstream} unreachable`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  const text = await res.text();
  if (!res.ok) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    throw new UpstreamError(r.upstream, res.status, `HTTP ${res.status} from ${r.upstream}${retryAfterMs !== undefined ? ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)` : ''}`, retryAfterMs);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UpstreamError(r.upstream, res.status, `${r.upstream} answered with something that is not JSON`);
  }
}

/** The short reason a card shows for a failed look-up. */
export const reasonOf = (e: unknown): string => (e instanceof UpstreamError ? e.message : 'unexpected error');
