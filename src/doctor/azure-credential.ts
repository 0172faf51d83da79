import { fail, off, ok, reason, tokenClaims, type Check } from './check';

const NAME = 'Azure credential';

/** The credential for ARM, Graph, Defender and Log Analytics gets a token, and whose it is. */
export const checkAzureCredential: Check = async ({ config, credential }) => {
  const kind = config.azure.clientSecret ? `app ${config.azure.clientId} (client secret)` : config.azure.clientId ? `managed identity ${config.azure.clientId}` : 'system-assigned managed identity';
  if (!credential) {
    if (config.localMode) return [off(NAME, 'none: requests carry no token (local mode, the sandbox)')];
    return [
      fail(
        NAME,
        'none: Vigil cannot read or write Sentinel; set AZURE_USE_MANAGED_IDENTITY=true (with AZURE_CLIENT_ID for a user-assigned identity) or AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET',
      ),
    ];
  }
  try {
    const token = await credential.getToken(`${config.sentinel.armEndpoint}/.default`);
    const claims = tokenClaims(token?.token ?? '');
    return [ok(NAME, `${kind} signs in${claims.oid ? ` (object id ${claims.oid})` : ''}`)];
  } catch (e) {
    const fix = config.azure.clientSecret ? 'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET' : 'check that the web app runs as this identity (AZURE_CLIENT_ID is its client id)';
    return [fail(NAME, `${kind} gets no token: ${reason(e)}; ${fix}`)];
  }
};
