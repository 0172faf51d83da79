import type { TokenCredential } from '@azure/identity';
import { bearerFrom } from '../http/bearer';
import { createHttpClient } from '../http/http-client';
import { isUpstreamError } from '../http/upstream-error';

export interface KqlTable {
  columns: string[];
  rows: unknown[][];
  /** Rows the query returned; `rows` holds at most `maxRows` of them. */
  totalRows: number;
  durationMs: number;
  partial?: string;
}

/** Log Analytics refused or failed the query; `message` is its own explanation, for the analyst. */
export class KqlError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** The HTTP status Log Analytics answered with; undefined when it did not answer. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'KqlError';
  }
}

export interface KqlRunner {
  run(query: string, o: { timespan?: string; maxRows: number; timeoutSeconds: number }): Promise<KqlTable>;
}

interface QueryError {
  code?: string;
  message?: string;
  innererror?: { code?: string; message?: string; innererror?: { message?: string } };
}
interface QueryResults {
  tables?: Array<{ name?: string; columns?: Array<{ name?: string; type?: string }>; rows?: unknown[][] }>;
  /** Set beside `tables` when the query partly failed (the service answers 200). */
  error?: QueryError;
}

/** Log Analytics' own words: the inner error says which operator or column is wrong. */
const logAnalyticsMessage = (e: QueryError | undefined): string => {
  const inner = e?.innererror?.innererror?.message ?? e?.innererror?.message;
  const outer = e?.message ?? 'Log Analytics failed';
  return inner ? `${outer}: ${inner}` : outer;
};

/** Values as their column types say: datetimes as Dates, dynamic values parsed (the service sends them as JSON text). */
const typed = (type: string | undefined, v: unknown): unknown => {
  if (v === null || v === undefined) return v;
  if (type === 'datetime' && typeof v === 'string') {
    const at = new Date(v);
    return Number.isNaN(at.getTime()) ? v : at;
  }
  if (type === 'dynamic' && typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
};

/**
 * Queries one Log Analytics workspace through its REST API (`POST /v1/workspaces/{id}/query`) on
 * the one HTTP client: the query's own time limit goes to the service (`Prefer: wait=`) and, with
 * two seconds' grace, to the request; throttling and 5xx are retried within that limit. Without a
 * credential requests carry no token (the sandbox; the real service then answers 401, reported).
 */
export function createKqlRunner(o: { baseUrl: string; workspaceId: string; credential?: TokenCredential }): KqlRunner {
  const http = createHttpClient({ upstream: 'Log Analytics', baseUrl: o.baseUrl, token: bearerFrom(o.credential, `${new URL(o.baseUrl).origin}/.default`), timeoutMs: 30_000 });
  return {
    async run(query, { timespan = 'P1D', maxRows, timeoutSeconds }) {
      const started = performance.now();
      const budgetMs = timeoutSeconds * 1000 + 2000;
      let answer;
      try {
        answer = await http.request<QueryResults>({
          method: 'POST',
          path: `/v1/workspaces/${encodeURIComponent(o.workspaceId)}/query`,
          body: { query, timespan },
          headers: { prefer: `wait=${timeoutSeconds}` },
          timeoutMs: budgetMs,
          retry: { budgetMs },
          // A query the service refuses carries its reason in the body: that is the analyst's answer.
          accept: [400],
        });
      } catch (e) {
        if (!isUpstreamError(e)) throw e;
        if (e.timedOut) throw new KqlError(`the query did not finish within ${timeoutSeconds} s`, 'Timeout');
        throw new KqlError(e.message, e.code ?? String(e.status || 'Error'), e.status || undefined);
      }
      if (answer.status === 400) throw new KqlError(logAnalyticsMessage(answer.body?.error), answer.body?.error?.code ?? 'BadArgumentError', 400);
      const table = answer.body?.tables?.[0];
      const columns = table?.columns ?? [];
      const rows = (table?.rows ?? []).map((row) => (Array.isArray(row) ? row.map((v, i) => typed(columns[i]?.type, v)) : []));
      return {
        columns: columns.map((c) => c.name ?? ''),
        rows: rows.slice(0, maxRows),
        totalRows: rows.length,
        durationMs: Math.round(performance.now() - started),
        partial: answer.body?.error ? logAnalyticsMessage(answer.body.error) : undefined,
      };
    },
  };
}
