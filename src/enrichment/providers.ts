import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { createGraphClient } from '../graph/graph-client';
import type { EnrichmentProvider } from './orchestrator';
import { createAbuseIpDb } from './providers/abuseipdb';
import { createDevice } from './providers/device';
import { createGraphUser } from './providers/graph-user';
import { createKqlProvider, loadNamedQueries } from './providers/kql';
import { createVirusTotal } from './providers/virustotal';
import type { WorkspaceLogs } from '../workspaces/workspace-logs';

/** The providers the configuration enables, in the order the card lists them; KQL with Log Analytics (`logs`). */
export function createProviders(config: Config, credential: TokenCredential | undefined, logs?: WorkspaceLogs): EnrichmentProvider[] {
  const e = config.enrichment;
  const common = { timeoutMs: e.timeoutMs, cacheTtlMs: e.cacheTtlMs };
  const providers: EnrichmentProvider[] = [];
  if (e.virustotal) providers.push(createVirusTotal({ ...common, ...e.virustotal }));
  if (e.abuseipdb) providers.push(createAbuseIpDb({ ...common, ...e.abuseipdb }));
  if (e.graph) providers.push(createGraphUser({ graph: createGraphClient({ baseUrl: e.graph.baseUrl, timeoutMs: e.timeoutMs, credential }), cacheTtlMs: e.cacheTtlMs }));
  if (e.device) providers.push(createDevice({ ...common, armEndpoint: e.device.armEndpoint, mdeEndpoint: e.device.mdeEndpoint, subscriptionId: config.sentinel.subscriptionId, credential }));
  if (logs)
    providers.push(
      createKqlProvider({ runner: logs.forIncident().runner, workspaces: logs, queries: loadNamedQueries(), timeoutSeconds: Math.max(1, Math.ceil(e.timeoutMs / 1000)), cacheTtlMs: e.cacheTtlMs }),
    );
  return providers;
}
