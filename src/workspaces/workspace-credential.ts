import type { TokenCredential } from '@azure/identity';
import { createAzureCredential } from '../azure-credential';
import type { Config } from '../config';
import type { Workspace } from './workspaces';

/**
 * The credential each workspace is reached with: `credential` for workspaces in Vigil's own tenant
 * (or that name none), and for a workspace in another tenant one for that tenant (the same app
 * registration, which must be consented there), made once per tenant and shared by its workspaces.
 */
export function workspaceCredentials(config: Pick<Config, 'azure'>, credential: TokenCredential | undefined): (w: Pick<Workspace, 'tenantId'>) => TokenCredential | undefined {
  const byTenant = new Map<string, TokenCredential | undefined>();
  return (w) => {
    const tenant = w.tenantId?.toLowerCase();
    if (!tenant || tenant === config.azure.tenantId?.toLowerCase()) return credential;
    if (!byTenant.has(tenant)) byTenant.set(tenant, createAzureCredential({ ...config.azure, tenantId: tenant }));
    return byTenant.get(tenant);
  };
}
