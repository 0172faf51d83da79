import { isTimeout } from '../timeout';
import { pause, stoppedError, throwIfStopped } from './call-stopped';
import { parseRetryAfter } from './retry-after';
import { DEFAULT_RETRY, retryDelay, type RetryPolicy } from './retry-policy';
import { UpstreamError } from './upstream-error';

/** A bearer token for each attempt (credentials cache and refresh their own); undefined sends none. */
export type TokenSource = () => Promise<string | undefined>;

export interface HttpClientOptions {
  /** The upstream's name as people know it; every error and log line says it. */
  upstream: string;
  /**
   * Requests name a path under this URL, or an absolute URL on its origin (an operation URL ARM
   * hands back) — never another origin, which would receive the token. Without one (the Bot
   * Connector: each conversation has its own service URL) every request is an absolute URL.
   */
  baseUrl?: string;
  token?: TokenSource;
  /** Sent with every request: an API key header, say. */
  headers?: Record<string, string>;
  /** Each attempt's own timeout. */
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  /** Tests inject these to pin waits and jitter. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path (with its query string) under the base URL, or an absolute URL. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, with this content type (a form, a text query). */
  raw?: { contentType: string; data: string };
  headers?: Record<string, string>;
  /** The caller's stop: once it fires the call in flight is aborted and no other starts. */
  signal?: AbortSignal;
  /** Statuses that are answers, returned rather than thrown: 404 for "no such thing", 412 for a stale etag. */
  accept?: readonly number[];
  /** This call's own retry numbers (a non-idempotent POST may want none). */
  retry?: Partial<RetryPolicy>;
  /** This call's own timeout per attempt (a query given a server-side limit). */
  timeoutMs?: number;
}

export interface HttpResponse<T> {
  status: number;
  /** The JSON body, or undefined when there was none or it was not JSON. */
  body: T | undefined;
  headers: Headers;
}

export interface HttpClient {
  readonly upstream: string;
  /**
   * One logical call: retried under the policy (status 0 and the retriable statuses, `Retry-After`
   * honoured, within the budget). Resolves with 2xx and `accept`ed statuses; throws
   * `UpstreamError` for the rest, or `CallStopped` once the caller's signal fires.
   */
  request<T>(r: HttpRequest): Promise<HttpResponse<T>>;
  /** GET (or `r.method`) that resolves with the JSON body, or undefined for 404. */
  json<T>(path: string, r?: Omit<HttpRequest, 'path'>): Promise<T | undefined>;
}

const parseJson = (text: string): unknown => {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // a gateway's HTML error page is no reason to stop retrying
  }
};

/** The code and message upstreams put in their error bodies: ARM, Graph, Defender, VirusTotal (`error`), AbuseIPDB (`errors[]`). */
const errorDetail = (body: unknown): { code?: string; message?: string } => {
  const b = body as { error?: { code?: unknown; message?: unknown } | string; errors?: Array<{ detail?: unknown; code?: unknown }>; message?: unknown } | undefined;
  const e = typeof b?.error === 'object' ? b.error : undefined;
  const first = b?.errors?.[0];
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 200) : undefined);
  return { code: text(e?.code) ?? text(first?.code) ?? (typeof b?.error === 'string' ? text(b.error) : undefined), message: text(e?.message) ?? text(first?.detail) ?? text(b?.message) };
};

/**
 * The coded error for an answer the caller could not use: an `accept`ed status it then refuses (a
 * stale etag after the last retry, say) gets the same message as one the client refused itself.
 */
export function answerError(upstream: string, answer: HttpResponse<unknown>): UpstreamError {
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
  const { code, message } = errorDetail(answer.body);
  const wait = retryAfterMs === undefined ? '' : ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)`;
  return new UpstreamError(upstream, answer.status, `${upstream} answered ${answer.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}${wait}`, { code, retryAfterMs });
}

const withQuery = (url: string, query?: HttpRequest['query']) => {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u.toString();
};

/**
 * The one way Vigil calls an upstream: base URL, credential, timeout per attempt, the caller's
 * abort signal, JSON in and out, one retry policy and one coded error.
 */
export function createHttpClient(o: HttpClientOptions): HttpClient {
  const base = o.baseUrl?.replace(/\/+$/, '');
  const resolve = (path: string): string => {
    const absolute = /^https?:\/\//i.test(path);
    if (!base) {
      if (!absolute) throw new UpstreamError(o.upstream, 0, `${o.upstream}: a request needs an absolute URL`);
      return path;
    }
    if (!absolute) return `${base}${path.startsWith('/') ? '' : '/'}${path}`;
    // An origin check, not a prefix check: `https://management.azure.com.evil.example` and `…@evil.example` pass a prefix.
    if (!URL.canParse(path) || new URL(path).origin !== new URL(base).origin) throw new UpstreamError(o.upstream, 0, `refusing to send a request for ${o.upstream} outside its endpoint`);
    return path;
  };

  const attempt = async <T>(r: HttpRequest, url: string): Promise<HttpResponse<T>> => {
    const token = await o.token?.();
    const headers: Record<string, string> = { accept: 'application/json', ...o.headers, ...r.headers };
    if (r.body !== undefined) headers['content-type'] = 'application/json';
    if (r.raw) headers['content-type'] = r.raw.contentType;
    if (token) headers.authorization = `Bearer ${token}`;
    const timeoutMs = r.timeoutMs ?? o.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: r.method ?? 'GET',
        headers,
        body: r.raw ? r.raw.data : r.body === undefined ? undefined : JSON.stringify(r.body),
        signal: r.signal ? AbortSignal.any([timeout, r.signal]) : timeout,
      });
      text = await res.text();
    } catch (e) {
      if (r.signal?.aborted) throw stoppedError(r.signal);
      const timedOut = isTimeout(e);
      throw new UpstreamError(o.upstream, 0, timedOut ? `${o.upstream} did not answer within ${timeoutMs} ms` : `${o.upstream} is unreachable`, { timedOut });
    }
    const answer = { status: res.status, body: parseJson(text) as T | undefined, headers: res.headers };
    if ((res.status >= 200 && res.status < 300) || r.accept?.includes(res.status)) return answer;
    throw answerError(o.upstream, answer);
  };

  const request = async <T>(r: HttpRequest): Promise<HttpResponse<T>> => {
    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...o.retry, ...r.retry };
    const url = withQuery(resolve(r.path), r.query);
    const started = Date.now();
    for (let n = 1; ; n++) {
      throwIfStopped(r.signal);
      try {
        return await attempt<T>(r, url);
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e;
        const wait = retryDelay(policy, n, e, Date.now() - started, o.random);
        if (wait === undefined) throw e;
        await pause(wait, r.signal, o.sleep);
      }
    }
  };

  return {
    upstream: o.upstream,
    request,
    async json<T>(path: string, r: Omit<HttpRequest, 'path'> = {}) {
      const res = await request<T>({ ...r, path, accept: [404, ...(r.accept ?? [])] });
      return res.status === 404 ? undefined : res.body;
    },
  };
}
