import type { TokenCredential } from '@azure/identity';
import { AppError } from '../../errors';
import { bearerFrom } from '../../http/bearer';
import { createHttpClient } from '../../http/http-client';
import { MAX_INLINE_WAIT_MS } from './arm-client';

export const DEFENDER = 'Defender for Endpoint';
/** The resource every commercial Defender host takes tokens for, regional ones and api.security.microsoft.com included. */
const COMMERCIAL_SCOPE = 'https://api.securitycenter.microsoft.com/.default';

/**
 * The token scope for the configured endpoint, derived from its origin as for Graph: a US
 * Government host (api-gcc / api-gov .securitycenter.microsoft.us) is its own audience. Commercial
 * hosts are the exception: Microsoft says to ask for the legacy resource whatever the host, or
 * some APIs answer 403.
 */
export const defenderScope = (endpoint: string) => {
  const { origin, hostname } = new URL(endpoint);
  return hostname === 'microsoft.com' || hostname.endsWith('.microsoft.com') ? COMMERCIAL_SCOPE : `${origin}/.default`;
};

export interface DefenderClient {
  /** One call; 404 comes back as a status, every other failure is thrown (`RunAborted` once `signal` fires). */
  request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body?: T }>;
}

/** `/api/…` and nothing a URL parser would move elsewhere (`..` also as `%2e%2e`, a backslash, a fragment). */
const isApiPath = (path: string) => {
  const pathname = path.split('?')[0]!;
  return pathname.startsWith('/api/') && !/[\\#]/.test(path) && !pathname.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
};

/**
 * The Defender for Endpoint API for response actions: bearer token for the endpoint's Defender
 * scope (none without a credential: the sandbox), a timeout per call, and 429, 5xx and network failures
 * retried up to `maxAttempts` (Defender allows 100 calls a minute and says how long to wait in
 * `Retry-After`). Only `/api/…` paths are sent. Throws `UpstreamError` naming Defender's error
 * code (status 0 when it never answered); the message never carries a header or a token.
 */
export function createDefenderClient(o: {
  endpoint: string;
  credential?: TokenCredential;
  timeoutMs: number;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}): DefenderClient {
  const http = createHttpClient({
    upstream: DEFENDER,
    baseUrl: o.endpoint,
    token: bearerFrom(o.credential, defenderScope(o.endpoint)),
    timeoutMs: o.timeoutMs,
    // A long Retry-After ends the call: the worker reschedules rather than sleeping on its lease.
    retry: { maxAttempts: o.maxAttempts ?? 4, maxInlineWaitMs: MAX_INLINE_WAIT_MS },
    sleep: o.sleep,
    random: o.random,
  });
  return {
    async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal) {
      if (!isApiPath(path)) throw new AppError('BAD_REQUEST', 'refusing a Defender for Endpoint path outside /api/');
      const r = await http.request<T>({ method, path, body, signal, accept: [404] });
      return { status: r.status, body: r.body };
    },
  };
}
