import type { TokenCredential } from '@azure/identity';
import { bearerFor } from '../../azure-credential';
import { UpstreamError } from '../../enrichment/upstream';
import { AppError } from '../../errors';
import { parseRetryAfter } from '../../teams/connector-client';
import { MAX_INLINE_WAIT_MS } from './arm-client';
import { isTimeout } from '../../timeout';
import { callSignal, pause, RunAborted, throwIfStopped } from '../run-aborted';

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

const retriable = (status: number) => status === 429 || status >= 500;
/** `/api/…` and nothing a URL parser would move elsewhere (`..` also as `%2e%2e`, a backslash, a fragment). */
const isApiPath = (path: string) => {
  const pathname = path.split('?')[0]!;
  return pathname.startsWith('/api/') && !/[\\#]/.test(path) && !pathname.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment));
};
const backoff = (attempt: number) => Math.min(30_000, 1000 * 2 ** (attempt - 1));

/**
 * The Defender for Endpoint API for response actions: bearer token for the endpoint's Defender
 * scope (none without a credential: the sandbox), a timeout per call, and 429, 5xx and network failures
 * retried up to `maxAttempts` (Defender allows 100 calls a minute and says how long to wait in
 * `Retry-After`). Only `/api/…` paths are sent. Throws `UpstreamError` naming Defender's error
 * code (status 0 when it never answered); the message never carries a header or a token.
 */
export function createDefenderClient(o: { endpoint: string; credential?: TokenCredential; timeoutMs: number; maxAttempts?: number; sleep?: (ms: number) => Promise<void> }): DefenderClient {
  const sleep = (ms: number, stop?: AbortSignal) => pause(ms, stop, o.sleep);
  const maxAttempts = o.maxAttempts ?? 4;
  const endpoint = o.endpoint.replace(/\/+$/, '');
  const scope = defenderScope(endpoint);
  return {
    async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, stop?: AbortSignal) {
      if (!isApiPath(path)) throw new AppError('BAD_REQUEST', 'refusing a Defender for Endpoint path outside /api/');
      for (let attempt = 1; ; attempt++) {
        throwIfStopped(stop);
        const token = await bearerFor(o.credential, scope);
        let res: Response;
        try {
          res = await fetch(`${endpoint}${path}`, {
            method,
            headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: callSignal(o.timeoutMs, stop),
          });
        } catch (e) {
          if (stop?.aborted) throw new RunAborted();
          if (attempt < maxAttempts) {
            await sleep(backoff(attempt), stop);
            continue;
          }
          throw new UpstreamError(DEFENDER, 0, isTimeout(e) ? `${DEFENDER} did not answer within ${o.timeoutMs} ms` : `${DEFENDER} is unreachable`);
        }
        const text = await res.text().catch((e: unknown) => {
          throw stop?.aborted ? new RunAborted() : e;
        });
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        // A long Retry-After ends the attempt: the worker reschedules rather than sleeping on its lease.
        if (retriable(res.status) && attempt < maxAttempts && (retryAfterMs ?? 0) <= MAX_INLINE_WAIT_MS) {
          await sleep(retryAfterMs ?? backoff(attempt), stop);
          continue;
        }
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          if (res.ok) throw new UpstreamError(DEFENDER, res.status, `${DEFENDER} answered with something that is not JSON`);
        }
        if (res.status >= 400 && res.status !== 404) {
          const err = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
          const code = typeof err?.code === 'string' ? ` ${err.code.slice(0, 60)}` : '';
          const message = typeof err?.message === 'string' ? `: ${err.message.slice(0, 200)}` : '';
          throw new UpstreamError(DEFENDER, res.status, `${DEFENDER} answered ${res.status}${code}${message}`, retryAfterMs);
        }
        return { status: res.status, body: parsed as T | undefined };
      }
    },
  };
}
