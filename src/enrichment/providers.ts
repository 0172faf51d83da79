import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { createGraphClient } from '../graph/graph-client';
import { createKqlRunner, type KqlRunner } from './kql-runner';
import type { EnrichmentProvider } from './orchestrator';
import { createAbuseIpDb } from './providers/abuseipdb';
import { createDevice } from './providers/device';
import { createGraphUser } from './providers/graph-user';
import { createKqlProvider, loadNamedQueries } from './providers/kql';
import { createVirusTotal } from './providers/virustotal';

/** The workspace's KQL runner, when Log Analytics is configured. */
export const createWorkspaceRunner = (config: Config, credential: TokenCredential | undefined): KqlRunner | undefined =>
  config.enrichment.logs ? createKqlRunner({ baseUrl: config.enrichment.logs.baseUrl, workspaceId: config.sentinel.workspaceId, credential }) : undefined;

/** The providers the configuration enables, in the order the card lists them. */
export function createProviders(config: Config, credential: TokenCredential | undefined, runner?: KqlRunner): EnrichmentProvider[] {
  const e = config.enrichment;
  const common = { timeoutMs: e.timeoutMs, cacheTtlMs: e.cacheTtlMs };
  const providers: EnrichmentProvider[] = [];
  if (e.virustotal) providers.push(createVirusTotal({ ...common, ...e.virustotal }));
  if (e.abuseipdb) providers.push(createAbuseIpDb({ ...common, ...e.abuseipdb }));
  if (e.graph) providers.push(createGraphUser({ graph: createGraphClient({ baseUrl: e.graph.baseUrl, timeoutMs: e.timeoutMs, credential }), cacheTtlMs: e.cacheTtlMs }));
  if (e.device) providers.push(createDevice({ ...common, armEndpoint: e.device.armEndpoint, mdeEndpoint: e.device.mdeEndpoint, subscriptionId: config.sentinel.subscriptionId, credential }));
  if (runner) providers.push(createKqlProvider({ runner, queries: loadNamedQueries(), timeoutSeconds: Math.max(1, Math.ceil(e.timeoutMs / 1000)), cacheTtlMs: e.cacheTtlMs }));
  return providers;
}
