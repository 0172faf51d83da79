import type { AccessToken, TokenCredential } from '@azure/identity';
import { LogsQueryClient, LogsQueryResultStatus } from '@azure/monitor-query-logs';

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

/** Log Analytics' own words: the inner error says which operator or column is wrong. */
const logAnalyticsMessage = (e: unknown): string => {
  const err = e as { message?: string; details?: { error?: { message?: string; innererror?: { message?: string } } } };
  const inner = err.details?.error?.innererror?.message;
  const outer = err.details?.error?.message ?? err.message ?? 'Log Analytics failed';
  return inner ? `${outer}: ${inner}` : outer;
};

/** A credential for a pipeline that will not use it (its bearer policy is removed). */
const unusedCredential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: '', expiresOnTimestamp: 0 }) };

/**
 * Queries one Log Analytics workspace through `@azure/monitor-query-logs`. Without a credential
 * the bearer-token policy is taken out of the pipeline, so requests carry no Authorization
 * header at all (the sandbox needs none; the real service then answers 401, which is reported).
 */
export function createKqlRunner(o: { baseUrl: string; workspaceId: string; credential?: TokenCredential }): KqlRunner {
  const client = new LogsQueryClient(o.credential ?? unusedCredential, {
    endpoint: `${o.baseUrl}/v1`,
    credentials: { scopes: [`${new URL(o.baseUrl).origin}/.default`] },
    retryOptions: { maxRetries: 0 },
    // Only a loopback sandbox is plain http; the real endpoints are https.
    allowInsecureConnection: o.baseUrl.startsWith('http://'),
  });
  if (!o.credential) client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  return {
    async run(query, { timespan = 'P1D', maxRows, timeoutSeconds }) {
      const started = performance.now();
      let result;
      try {
        result = await client.queryWorkspace(o.workspaceId, query, { duration: timespan }, {
          serverTimeoutInSeconds: timeoutSeconds,
          abortSignal: AbortSignal.timeout(timeoutSeconds * 1000 + 2000),
          // monitor-query-logs 1.0 does not pass abortSignal on to the request; this timeout it does.
          requestOptions: { timeout: timeoutSeconds * 1000 + 2000 },
        });
      } catch (e) {
        const err = e as { name?: string; code?: string; message?: string; statusCode?: number };
        if (err.name === 'AbortError' || err.name === 'TimeoutError') throw new KqlError(`the query did not finish within ${timeoutSeconds} s`, 'Timeout');
        throw new KqlError(logAnalyticsMessage(e), err.code ?? String(err.statusCode ?? 'Error'), err.statusCode);
      }
      const tables = result.status === LogsQueryResultStatus.Success ? result.tables : result.partialTables;
      const table = tables[0];
      const rows = (table?.rows ?? []) as unknown[][];
      return {
        columns: (table?.columnDescriptors ?? []).map((c) => c.name ?? ''),
        rows: rows.slice(0, maxRows),
        totalRows: rows.length,
        durationMs: Math.round(performance.now() - started),
        partial: result.status === LogsQueryResultStatus.PartialFailure ? result.partialError.message : undefined,
      };
    },
  };
}
