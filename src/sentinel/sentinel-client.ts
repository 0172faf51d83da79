import { isTimeout } from '../timeout';
import type { TokenCredential } from '@azure/identity';
import { bearerFor } from '../azure-credential';
import { AppError } from '../errors';

export const SENTINEL_API_VERSION = '2025-09-01';

export interface SentinelClientOptions {
  armEndpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  timeoutMs: number;
  credential?: TokenCredential;
}

export interface SentinelClient {
  /** The incident resource (raw, to be parsed by `parseIncident`), or undefined if there is none. */
  findIncidentByNumber(number: number): Promise<unknown | undefined>;
  /**
   * Writes a comment on the incident. `commentId` makes it idempotent: writing the same id again
   * replaces the comment instead of adding a second one (a retried write-back after a crash).
   */
  addComment(incidentArmId: string, commentId: string, message: string): Promise<void>;
}

/** The SecurityInsights REST API of one workspace. */
export function createSentinelClient(o: SentinelClientOptions): SentinelClient {
  const workspacePath =
    `/subscriptions/${encodeURIComponent(o.subscriptionId)}/resourceGroups/${encodeURIComponent(o.resourceGroup)}` +
    `/providers/Microsoft.OperationalInsights/workspaces/${encodeURIComponent(o.workspaceName)}/providers/Microsoft.SecurityInsights`;

  const send = async (method: 'GET' | 'PUT', pathAndQuery: string, body?: unknown): Promise<unknown> => {
    const headers: Record<string, string> = { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const token = await bearerFor(o.credential, `${o.armEndpoint}/.default`);
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(`${o.armEndpoint}${workspacePath}${pathAndQuery}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (e) {
      const timedOut = isTimeout(e);
      throw new AppError(timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_FAILED', timedOut ? `Sentinel did not answer within ${o.timeoutMs} ms` : `Sentinel is unreachable (${String((e as { message?: unknown })?.message ?? e)})`);
    }
    const answer = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (!res.ok) {
      throw new AppError('UPSTREAM_FAILED', `Sentinel answered ${res.status}${answer?.error?.code ? ` ${answer.error.code}` : ''}${answer?.error?.message ? `: ${answer.error.message.slice(0, 200)}` : ''}`);
    }
    return answer;
  };
  const get = (pathAndQuery: string) => send('GET', pathAndQuery);

  return {
    async findIncidentByNumber(number) {
      if (!Number.isSafeInteger(number) || number <= 0) throw new AppError('BAD_REQUEST', 'an incident number is a positive whole number');
      const filter = encodeURIComponent(`properties/incidentNumber eq ${number}`);
      const body = (await get(`/incidents?api-version=${SENTINEL_API_VERSION}&$filter=${filter}&$top=1`)) as { value?: unknown[] };
      return body.value?.[0];
    },
    async addComment(incidentArmId, commentId, message) {
      const incidentName = incidentArmId.split('/').pop() ?? '';
      if (!/^[\w-]{1,128}$/.test(incidentName) || !/^[\w-]{1,128}$/.test(commentId)) throw new AppError('BAD_REQUEST', 'not a Sentinel incident or comment id');
      await send('PUT', `/incidents/${incidentName}/comments/${commentId}?api-version=${SENTINEL_API_VERSION}`, { properties: { message: message.slice(0, 30_000) } });
    },
  };
}
