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
}

/** The SecurityInsights REST API of one workspace. */
export function createSentinelClient(o: SentinelClientOptions): SentinelClient {
  const workspacePath =
    `/subscriptions/${encodeURIComponent(o.subscriptionId)}/resourceGroups/${encodeURIComponent(o.resourceGroup)}` +
    `/providers/Microsoft.OperationalInsights/workspaces/${encodeURIComponent(o.workspaceName)}/providers/Microsoft.SecurityInsights`;

  const get = async (pathAndQuery: string): Promise<unknown> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = await bearerFor(o.credential, `${o.armEndpoint}/.default`);
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(`${o.armEndpoint}${workspacePath}${pathAndQuery}`, { headers, signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (e) {
      const timedOut = isTimeout(e);
      throw new AppError(timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_FAILED', timedOut ? `Sentinel did not answer within ${o.timeoutMs} ms` : `Sentinel is unreachable (${String((e as { message?: unknown })?.message ?? e)})`);
    }
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (!res.ok) {
      throw new AppError('UPSTREAM_FAILED', `Sentinel answered ${res.status}${body?.error?.code ? ` ${body.error.code}` : ''}${body?.error?.message ? `: ${body.error.message.slice(0, 200)}` : ''}`);
    }
    return body;
  };

  return {
    async findIncidentByNumber(number) {
      if (!Number.isSafeInteger(number) || number <= 0) throw new AppError('BAD_REQUEST', 'an incident number is a positive whole number');
      const filter = encodeURIComponent(`properties/incidentNumber eq ${number}`);
      const body = (await get(`/incidents?api-version=${SENTINEL_API_VERSION}&$filter=${filter}&$top=1`)) as { value?: unknown[] };
      return body.value?.[0];
    },
  };
}
