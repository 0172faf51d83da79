import type { TokenCredential } from '@azure/identity';
import { pause } from '../../http/call-stopped';
import { bearerFrom } from '../../http/bearer';
import { createHttpClient } from '../../http/http-client';
import { parseRetryAfter } from '../../http/retry-after';
import { isUpstreamError, UpstreamError } from '../../http/upstream-error';

export const NETWORK_API = '2024-07-01';

export const ARM = 'Azure Resource Manager';

/** An ARM failure the executors name themselves: the one coded `UpstreamError`, upstream ARM. */
export const armError = (status: number, message: string): UpstreamError => new UpstreamError(ARM, status, message);

/** Whether `e` is an ARM failure (from the HTTP layer or `armError`). */
export const isArmError = (e: unknown): e is UpstreamError => isUpstreamError(e, ARM);

export interface ArmResponse<T> {
  status: number;
  body?: T;
  headers: Headers;
}

export interface ArmClient {
  /**
   * One request; 429 and 5xx are retried after `Retry-After` (or a back-off), up to `maxAttempts`.
   * Once `signal` fires (the worker lost the action) it throws `RunAborted` at once, aborting the
   * call in flight and starting no other.
   */
  request<T>(method: 'GET' | 'PUT' | 'DELETE', pathOrUrl: string, o?: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal }): Promise<ArmResponse<T>>;
  /**
   * Follows a long-running operation to its end: `Azure-AsyncOperation` until it `Succeeded`, or
   * else (201/202 with only `Location`) `Location` until it stops answering 202. Throws if it fails
   * or outlasts `maxWaitMs`, or with `RunAborted` once `signal` fires; returns at once for a
   * response that started no operation.
   */
  waitFor(response: ArmResponse<unknown>, what: string, signal?: AbortSignal): Promise<void>;
}

/**
 * The longest wait slept in place. A longer `Retry-After` ends the attempt instead, so the worker
 * reschedules the action in the store and frees its slot and lease rather than sleeping on them.
 */
export const MAX_INLINE_WAIT_MS = 30_000;

/**
 * Azure Resource Manager for write operations: bearer token from the credential (none without
 * one: the sandbox), a timeout per call, throttling honoured, long-running operations followed.
 */
export function createArmClient(o: {
  endpoint: string;
  credential?: TokenCredential;
  timeoutMs: number;
  maxAttempts?: number;
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}): ArmClient {
  const sleep = (ms: number, stop?: AbortSignal) => pause(ms, stop, o.sleep);
  // Operation URLs come from response headers: the client sends a request only to ARM's own origin.
  const http = createHttpClient({
    upstream: ARM,
    baseUrl: o.endpoint,
    token: bearerFrom(o.credential, `${o.endpoint}/.default`),
    timeoutMs: o.timeoutMs,
    retry: { maxAttempts: o.maxAttempts ?? 5, maxInlineWaitMs: MAX_INLINE_WAIT_MS },
    sleep: o.sleep,
    random: o.random,
  });
  const request: ArmClient['request'] = async (method, pathOrUrl, options = {}) => {
    if (/^https?:\/\//i.test(pathOrUrl) && (!URL.canParse(pathOrUrl) || new URL(pathOrUrl).origin !== new URL(o.endpoint).origin)) {
      throw armError(0, 'refusing to follow an operation URL outside the ARM endpoint');
    }
    if (!pathOrUrl.startsWith('/') && !/^https?:\/\//i.test(pathOrUrl)) throw armError(0, 'refusing to follow an operation URL outside the ARM endpoint');
    // 404 (no such thing) and 412 (a stale etag) are answers the executors handle.
    const r = await http.request<never>({ method, path: pathOrUrl, body: options.body, headers: options.headers, signal: options.signal, accept: [404, 412] });
    return { status: r.status, body: r.body, headers: r.headers };
  };
  const maxWaitMs = o.maxWaitMs ?? 120_000;
  const stillRunning = (what: string) => armError(0, `${what} still running after ${Math.round(maxWaitMs / 1000)} s`);
  /** ARM's other way to report progress: `Location` answers 202 while running, then the final 200/204. */
  const followLocation = async (started: ArmResponse<unknown>, what: string, until: number, stop?: AbortSignal) => {
    let location = started.headers.get('location')!;
    let wait = Math.min(MAX_INLINE_WAIT_MS, parseRetryAfter(started.headers.get('retry-after')) ?? 1000);
    for (;;) {
      await sleep(wait, stop);
      const r = await request('GET', location, { signal: stop });
      if (r.status !== 202) {
        if (r.status >= 300) throw armError(r.status, `${what} failed: Azure Resource Manager answered ${r.status}`);
        return;
      }
      if (Date.now() > until) throw stillRunning(what);
      location = r.headers.get('location') ?? location;
      wait = Math.min(MAX_INLINE_WAIT_MS, parseRetryAfter(r.headers.get('retry-after')) ?? 1000);
    }
  };
  return {
    request,
    async waitFor(response, what, stop) {
      const operation = response.headers.get('azure-asyncoperation');
      const until = Date.now() + maxWaitMs;
      if (!operation) {
        if ((response.status === 201 || response.status === 202) && response.headers.get('location')) await followLocation(response, what, until, stop);
        return;
      }
      for (;;) {
        const r = await request<{ status?: string; error?: { message?: string } }>('GET', operation, { signal: stop });
        const status = r.body?.status;
        if (status === 'Succeeded') return;
        if (status === 'Failed' || status === 'Canceled') throw armError(200, `${what} ${status.toLowerCase()}: ${r.body?.error?.message ?? 'no reason given'}`);
        if (Date.now() > until) throw stillRunning(what);
        await sleep(Math.min(MAX_INLINE_WAIT_MS, parseRetryAfter(r.headers.get('retry-after')) ?? 1000), stop);
      }
    },
  };
}
