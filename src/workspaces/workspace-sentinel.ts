import { sameWorkspace, workspaceOfIncidentId } from '../incidents/incident';
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { createSentinelClient, type SentinelClient } from '../sentinel/sentinel-client';
import { workspaceCredentials } from './workspace-credential';
import type { Workspace } from './workspaces';

/**
 * Sentinel's client with each incident write (comment, update) sent to the workspace the
 * incident's ARM id names: the client of the first listed workspace would otherwise write a
 * fabrikam incident's comment into contoso. Everything not about one incident (look-ups by
 * number, threat indicators) stays with `primary`; a workspace's client is made on first use.
 */
export function sentinelPerWorkspace(workspaces: Workspace[], primary: SentinelClient, clientFor: (w: Workspace) => SentinelClient): SentinelClient {
  if (workspaces.length <= 1) return primary;
  const clients = new Map<Workspace, SentinelClient>([[workspaces[0]!, primary]]);
  const of = (incidentArmId: string): SentinelClient => {
    const own = workspaceOfIncidentId(incidentArmId);
    const w = own && workspaces.find((x) => sameWorkspace(x, own));
    if (!w) return primary;
    if (!clients.has(w)) clients.set(w, clientFor(w));
    return clients.get(w)!;
  };
  return {
    ...primary,
    addComment: (incidentArmId, commentId, message) => of(incidentArmId).addComment(incidentArmId, commentId, message),
    updateIncident: (incidentArmId, change) => of(incidentArmId).updateIncident(incidentArmId, change),
  };
}

/**
 * The Sentinel client of every listed workspace behind one: the first is `config.sentinel`'s; a
 * workspace in another tenant gets a credential for that tenant (the same app registration, which
 * must be consented there), the others share `credential`.
 */
export function createWorkspaceSentinel(config: Pick<Config, 'workspaces' | 'sentinel' | 'azure' | 'upstreamTimeoutMs'>, credential: TokenCredential | undefined): SentinelClient {
  const client = (w: Pick<Workspace, 'subscriptionId' | 'resourceGroup' | 'workspaceName'>, c: TokenCredential | undefined) =>
    createSentinelClient({
      subscriptionId: w.subscriptionId,
      resourceGroup: w.resourceGroup,
      workspaceName: w.workspaceName,
      armEndpoint: config.sentinel.armEndpoint,
      timeoutMs: config.upstreamTimeoutMs,
      credential: c,
    });
  const credentialOf = workspaceCredentials(config, credential);
  return sentinelPerWorkspace(config.workspaces, client(config.sentinel, credential), (w) => client(w, credentialOf(w)));
}
