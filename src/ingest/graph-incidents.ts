import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { createGraphClient } from '../graph/graph-client';
import { createGraphIncidentWriter } from '../graph/graph-incident-writer';
import { createGraphSecurityClient } from '../graph/graph-security-client';
import type { Incident } from '../incidents/incident';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import type { AlsoInCommit } from '../store/incident-repository';
import { createGraphIncidentPoller, type GraphIncidentPollerOptions } from './graph-incident-poller';

const graphFor = (config: Config, credential?: TokenCredential) =>
  config.enrichment.graph && createGraphClient({ baseUrl: config.enrichment.graph.baseUrl, timeoutMs: config.upstreamTimeoutMs, credential });

/** Graph's security incidents for a process that only writes them (the action worker); undefined without Graph. */
export const createGraphSecurityFor = (config: Config, credential?: TokenCredential) => {
  const graph = graphFor(config, credential);
  return graph && createGraphSecurityClient({ graph });
};

/**
 * Defender's unified incidents through Microsoft Graph (`GRAPH_ENDPOINT`): the writer for incidents
 * that live there, whenever Graph is configured, and the poller with VIGIL_POLL_GRAPH_INCIDENTS=on.
 */
export function createGraphIncidents(o: {
  config: Config;
  credential?: TokenCredential;
  db: Db;
  logger: Logger;
  onChange: (incident: Incident) => void;
  /** Written in each stored change's own commit (the case policy's ask). */
  alsoInCommit?: AlsoInCommit;
  poller?: Partial<Pick<GraphIncidentPollerOptions, 'intervalMs' | 'pageSize' | 'leaseMs'>>;
}) {
  const graph = graphFor(o.config, o.credential);
  if (!graph) return {};
  const client = createGraphSecurityClient({ graph });
  return {
    client,
    writer: createGraphIncidentWriter({ db: o.db, client, graph, onChange: o.onChange, alsoInCommit: o.alsoInCommit, logger: o.logger }),
    poller:
      o.config.graphPoller && createGraphIncidentPoller({ client, ingest: { db: o.db, onChange: o.onChange, alsoInCommit: o.alsoInCommit }, logger: o.logger, ...o.config.graphPoller, ...o.poller }),
  };
}
