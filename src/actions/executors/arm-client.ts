import type { TokenCredential } from '@azure/identity';
import { bearerFor } from '../../azure-credential';
import { parseRetryAfter } from '../../teams/connector-client';
import { isTimeout } from '../../timeout';
import { stoppedError } from '../../http/call-stopped';
import { callSignal, pause, throwIfStopped } from '../run-aborted';

export const NETWORK_API = '2024-07-01';

/** An ARM answer that is neither success nor a condition the caller handles (412, 404). */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    /** How long ARM asked us to wait: the worker tries the action again no sooner. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ArmError';
  }
}

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

const RETRIABLE = new Set([429, 500, 502, 503, 504]);
/**
 * The longest wait slept in place. A longer `Retry-After` ends the attempt instead, so the worker
 * reschedules the action in the store and frees its slot and lease rather than sleeping on them.
 */
export const MAX_INLINE_WAIT_MS = 30_000;

/** A gateway in front of ARM may answer 502/503/504 with an HTML page: that is no reason to stop retrying. */
const parseBody = (text: string): unknown => {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * Operation URLs come from response headers: only ARM's own origin may receive our token.
 * A prefix check would also pass `https://management.azure.com.evil.example` or `…@evil.example`.
 */
const sameOrigin = (url: string, endpoint: string) => URL.canParse(url) && new URL(url).origin === new URL(endpoint).origin;

/**
 * Azure Resource Manager for write operations: bearer token from the credential (none without
 * one: the sandbox), a timeout per call, throttling honoured, long-running operations followed.
 */
export function createArmClient(o: { endpoint: string; credential?: TokenCredential; timeoutMs: number; maxAttempts?: number; maxWaitMs?: number; sleep?: (ms: number) => Promise<void> }): ArmClient {
  const sleep = (ms: number, stop?: AbortSignal) => pause(ms, stop, o.sleep);
  const maxAttempts = o.maxAttempts ?? 5;
  const request: ArmClient['request'] = async (method, pathOrUrl, options = {}) => {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${o.endpoint}${pathOrUrl}`;
    if (!sameOrigin(url, o.endpoint)) throw new ArmError(0, 'refusing to follow an operation URL outside the ARM endpoint');
    const stop = options.signal;
    for (let attempt = 1; ; attempt++) {
      throwIfStopped(stop);
      const token = await bearerFor(o.credential, `${o.endpoint}/.default`);
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: { accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: callSignal(o.timeoutMs, stop),
        });
      } catch (e) {
        // Stopped, not timed out: no retry, and no "did not answer" that would read as ARM's fault.
        if (stop?.aborted) throw stoppedError(stop);
        if (attempt < maxAttempts) {
          await sleep(500 * attempt, stop);
          continue;
        }
        throw new ArmError(0, isTimeout(e) ? `Azure Resource Manager did not answer within ${o.timeoutMs} ms` : 'Azure Resource Manager is unreachable');
      }
      const text = await res.text().catch((e: unknown) => {
        throw stop?.aborted ? stoppedError(stop) : e;
      });
      const body = parseBody(text);
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      if (RETRIABLE.has(res.status) && attempt < maxAttempts && (retryAfterMs ?? 0) <= MAX_INLINE_WAIT_MS) {
        await sleep(retryAfterMs ?? Math.min(MAX_INLINE_WAIT_MS, 1000 * 2 ** (attempt - 1)), stop);
        continue;
      }
      if (res.status >= 400 && res.status !== 404 && res.status !== 412) {
        const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new ArmError(res.status, `Azure Resource Manager answered ${res.status}${err?.code ? ` ${err.code}` : ''}${err?.message ? `: ${err.message.slice(0, 200)}` : ''}`, err?.code, retryAfterMs);
      }
      return { status: res.status, body: body as never, headers: res.headers };
    }
  };
  const maxWaitMs = o.maxWaitMs ?? 120_000;
  const stillRunning = (what: string) => new ArmError(0, `${what} still running after ${Math.round(maxWaitMs / 1000)} s`);
  /** ARM's other way to report progress: `Location` answers 202 while running, then the final 200/204. */
  const followLocation = async (started: ArmResponse<unknown>, what: string, until: number, stop?: AbortSignal) => {
    let location = started.headers.get('location')!;
    let wait = Math.min(MAX_INLINE_WAIT_MS, parseRetryAfter(started.headers.get('retry-after')) ?? 1000);
    for (;;) {
      await sleep(wait, stop);
      const r = await request('GET', location, { signal: stop });
      if (r.status !== 202) {
        if (r.status >= 300) throw new ArmError(r.status, `${what} failed: Azure Resource Manager answered ${r.status}`);
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
        if (status === 'Failed' || status === 'Canceled') throw new ArmError(200, `${what} ${status.toLowerCase()}: ${r.body?.error?.message ?? 'no reason given'}`);
        if (Date.now() > until) throw stillRunning(what);
        await sleep(Math.min(MAX_INLINE_WAIT_MS, parseRetryAfter(r.headers.get('retry-after')) ?? 1000), stop);
      }
    },
  };
}
