import type { TokenCredential } from '@azure/identity';
import { AuthenticationHandler, Client, HTTPMessageHandler, type Middleware } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { isTimeout } from '../timeout';
import { UpstreamError } from '../enrichment/upstream';
import { parseRetryAfter } from '../teams/connector-client';
import { callSignal, RunAborted, throwIfStopped } from '../actions/run-aborted';

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
}

/**
 * Microsoft Graph through `@microsoft/microsoft-graph-client`, at a configurable endpoint
 * (national clouds, the sandbox). With a credential, requests carry its token; without one they
 * carry none. No retry middleware: a throttled look-up shows as unavailable on the card instead
 * of holding it back.
 */
export function createGraphClient(o: { baseUrl: string; timeoutMs: number; credential?: TokenCredential }): GraphClient {
  const http = new HTTPMessageHandler();
  let chain: Middleware = http;
  if (o.credential) {
    const auth = new AuthenticationHandler(new TokenCredentialAuthenticationProvider(o.credential, { scopes: [`${new URL(o.baseUrl).origin}/.default`] }));
    auth.setNext(http);
    chain = auth;
  }
  const client = Client.initWithMiddleware({
    middleware: chain,
    baseUrl: `${o.baseUrl.replace(/\/+$/, '')}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(o.baseUrl).hostname]),
  });
  const call = async <T>(path: string, send: (r: ReturnType<Client['api']>) => Promise<T>, stop?: AbortSignal): Promise<T | undefined> => {
    throwIfStopped(stop);
    const signal = callSignal(o.timeoutMs, stop);
    try {
      return await send(client.api(path).options({ signal }));
    } catch (e) {
      if (stop?.aborted) throw new RunAborted();
      // GraphError carries the HTTP status; -1 or none means there was no answer at all.
      const status = (e as { statusCode?: number }).statusCode ?? -1;
      if (status === 404) return undefined;
      if (status <= 0) {
        throw new UpstreamError('Microsoft Graph', 0, signal.aborted || isTimeout(e) ? `timed out after ${o.timeoutMs} ms` : 'Microsoft Graph unreachable');
      }
      const code = (e as { code?: string }).code;
      // Graph throttles writes too (429 with Retry-After): the worker waits as long as it says.
      const headers = (e as { headers?: { get?: (name: string) => string | null } }).headers;
      const retryAfterMs = typeof headers?.get === 'function' ? parseRetryAfter(headers.get('retry-after')) : undefined;
      throw new UpstreamError('Microsoft Graph', status, `HTTP ${status} from Microsoft Graph${code ? ` (${code})` : ''}`, retryAfterMs);
    }
  };
  /** For writes a 404 is a failure, not an answer: the user to change does not exist. */
  const mustExist = async <T>(path: string, send: (r: ReturnType<Client['api']>) => Promise<T>, stop?: AbortSignal): Promise<T | undefined> => {
    const done = await call(path, async (r) => ({ answer: await send(r) }), stop);
    if (done === undefined) throw new UpstreamError('Microsoft Graph', 404, 'HTTP 404 from Microsoft Graph (no such user)');
    return done.answer ?? undefined;
  };
  return {
    get: (path) => call(path, (r) => r.get()),
    post: (path, body) => call(path, (r) => r.post(body)),
    postAction: (path, body, signal) => mustExist(path, (r) => r.post(body), signal),
    async patch(path, body, signal) {
      await mustExist(path, (r) => r.patch(body), signal);
    },
  };
}
