import type { TokenCredential } from '@azure/identity';
import type { TokenSource } from './http-client';

/** Tokens for `scope` from an Azure credential (which caches and refreshes them); none without one (the sandbox). */
export const bearerFrom = (credential: TokenCredential | undefined, scope: string): TokenSource | undefined => credential && (async () => (await credential.getToken(scope))?.token);
