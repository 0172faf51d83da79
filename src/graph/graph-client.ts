import type { TokenCredential } from '@azure/identity';
import { bearerFrom } from '../http/bearer';
import { createHttpClient, answerError, type HttpRequest, type HttpResponse } from '../http/http-client';
import { NO_RETRY, type RetryPolicy } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';

export const GRAPH = 'Microsoft Graph';

/** One request inside a JSON `$batch`: a GET relative to /v1.0 (`/users/{id}/manager`). */
export interface BatchRequest {
  id: string;
  url: string;
}

/** One answer inside a `$batch` reply: its own status and body (a 404 or a 429 here is this request's, not the batch's). */
export type BatchAnswer<T = unknown> = { ok: true; status: number; body: T | undefined } | { ok: false; status: number; error: UpstreamError };

export interface GraphClient {
  /** GET a Graph path (relative to /v1.0); undefined for 404. Throws `UpstreamError` otherwise. */
  get<T>(path: string): Promise<T | undefined>;
  /** POST to a query action (checkMemberGroups); undefined for 404, like `get`. */
  post<T>(path: string, body: unknown): Promise<T | undefined>;
  /**
   * POST to an action that changes something (revokeSignInSessions): a 404 is a failure, thrown as
   * `UpstreamError` 404, never an answer. Undefined means an empty 2xx. Like `patch`, throws
   * `RunAborted` once `signal` fires (the action worker lost the action), aborting the call.
   */
  postAction<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T | undefined>;
  patch(path: string, body: unknown, signal?: AbortSignal): Promise<void>;
  /**
   * Up to 20 GETs in one JSON `$batch` round trip. Resolves with each request's own answer by id
   * (200, 404, a throttled 429 with its `Retry-After`…); throws `UpstreamError` only when the batch
   * itself failed (throttled, timed out, unreachable) or its answer lacks a request.
   */
  batch(requests: BatchRequest[]): Promise<Map<string, BatchAnswer>>;
  /** One call of the HTTP layer under /v1.0 (or to an `@odata.nextLink` on Graph's origin), for callers that read statuses. */
  request<T>(r: HttpRequest): Promise<HttpResponse<T>>;
}

interface BatchReply {
  responses?: Array<{ id?: string; status?: number; headers?: Record<string, string>; body?: unknown }>;
}

/**
 * Microsoft Graph through the one HTTP layer, at a configurable endpoint (national clouds, the
 * sandbox). With a credential, requests carry its token; without one they carry none. No retries
 * unless `retry` asks for some: a throttled look-up shows as unavailable on the card instead of
 * holding it back, and the action worker reschedules a throttled write on its own terms.
 *
 * Not `@microsoft/microsoft-graph-client`: its middleware chain is a second HTTP stack (its own
 * errors, timeouts and retry handler), and its batching helper builds multipart-era requests.
 */
export function createGraphClient(o: { baseUrl: string; timeoutMs: number; credential?: TokenCredential; retry?: Partial<RetryPolicy> }): GraphClient {
  const root = o.baseUrl.replace(/\/+$/, '');
  const http = createHttpClient({
    upstream: GRAPH,
    baseUrl: `${root}/v1.0`,
    token: bearerFrom(o.credential, `${new URL(root).origin}/.default`),
    timeoutMs: o.timeoutMs,
    retry: o.retry ?? NO_RETRY,
  });
  const path = (p: string) => (p.startsWith('/') || /^https?:\/\//i.test(p) ? p : `/${p}`);
  /** For writes a 404 is a failure, not an answer: the user to change does not exist. */
  const mustExist = <T>(res: HttpResponse<T>): T | undefined => {
    if (res.status === 404) throw new UpstreamError(GRAPH, 404, 'HTTP 404 from Microsoft Graph (no such user)', { code: 'Request_ResourceNotFound' });
    return res.body ?? undefined;
  };
  return {
    get: (p) => http.json(path(p)),
    request: (r) => http.request({ ...r, path: path(r.path) }),
    post: (p, body) => http.json(path(p), { method: 'POST', body }),
    postAction: async (p, body, signal) => mustExist(await http.request({ method: 'POST', path: path(p), body, signal, accept: [404] })),
    async patch(p, body, signal) {
      mustExist(await http.request({ method: 'PATCH', path: path(p), body, signal, accept: [404] }));
    },
    async batch(requests) {
      const res = await http.request<BatchReply>({ method: 'POST', path: '/$batch', body: { requests: requests.map((r) => ({ id: r.id, method: 'GET', url: path(r.url) })) } });
      const byId = new Map((res.body?.responses ?? []).map((r) => [String(r.id), r]));
      const answers = new Map<string, BatchAnswer>();
      for (const r of requests) {
        const a = byId.get(r.id);
        if (!a || typeof a.status !== 'number') throw new UpstreamError(GRAPH, 502, `${GRAPH} answered the batch without request ${r.id}`);
        if (a.status >= 200 && a.status < 300) answers.set(r.id, { ok: true, status: a.status, body: a.body });
        else answers.set(r.id, { ok: false, status: a.status, error: answerError(GRAPH, { status: a.status, body: a.body, headers: new Headers(a.headers ?? {}) }) });
      }
      return answers;
    },
  };
}
