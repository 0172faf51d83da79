import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import type { EnrichmentProvider } from './orchestrator';

/** The providers the configuration enables (none yet: issue 3 adds them). */
export function createProviders(_config: Config, _credential: TokenCredential | undefined): EnrichmentProvider[] {
  return [];
}
