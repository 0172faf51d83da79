import { ClientSecretCredential, ManagedIdentityCredential, type TokenCredential, type TokenCredentialOptions } from '@azure/identity';
import type { AzureSettings } from './config';

/** Microsoft's own sign-in hosts (public and sovereign clouds): MSAL knows them without instance discovery. */
const MICROSOFT_AUTHORITY_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);

/**
 * `@azure/identity` options for an authority host. MSAL asks login.microsoftonline.com whether an
 * authority it does not know is trustworthy ("instance discovery"); for any other host (a private
 * cloud, the sandbox) that question has no answer, so it is not asked.
 */
export const authorityOptions = (authorityHost?: string): Pick<TokenCredentialOptions, 'authorityHost'> & { disableInstanceDiscovery?: boolean } => {
  if (!authorityHost) return {};
  return MICROSOFT_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname) ? { authorityHost } : { authorityHost, disableInstanceDiscovery: true };
};

/**
 * The credential for Azure and Graph calls, or none: with none configured (local mode, the
 * sandbox) requests carry no token at all rather than a fake one. `options` reach the HTTP
 * pipeline (tests pass the sandbox's certificate authority as `tlsOptions`). Both kinds cache
 * their tokens and refresh them before they expire, so callers ask for a token every time.
 */
export function createAzureCredential(azure: AzureSettings, options: Pick<TokenCredentialOptions, 'tlsOptions'> = {}): TokenCredential | undefined {
  if (azure.tenantId && azure.clientId && azure.clientSecret) {
    return new ClientSecretCredential(azure.tenantId, azure.clientId, azure.clientSecret, { ...authorityOptions(azure.authorityHost), ...options });
  }
  if (azure.managedIdentity) return azure.clientId ? new ManagedIdentityCredential({ clientId: azure.clientId, ...options }) : new ManagedIdentityCredential(options);
  return undefined;
}
