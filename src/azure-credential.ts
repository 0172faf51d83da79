import { ClientSecretCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { Config } from './config';

/**
 * The credential for Azure and Graph calls, or none: with none configured (local mode, the
 * sandbox) requests carry no token at all rather than a fake one.
 */
export function createAzureCredential(azure: Config['azure']): TokenCredential | undefined {
  if (azure.tenantId && azure.clientId && azure.clientSecret) return new ClientSecretCredential(azure.tenantId, azure.clientId, azure.clientSecret);
  if (azure.managedIdentity) return azure.clientId ? new ManagedIdentityCredential({ clientId: azure.clientId }) : new ManagedIdentityCredential();
  return undefined;
}

/** A bearer token for `scope`, or undefined without a credential. */
export async function bearerFor(credential: TokenCredential | undefined, scope: string): Promise<string | undefined> {
  if (!credential) return undefined;
  const token = await credential.getToken(scope);
  return token?.token;
}
