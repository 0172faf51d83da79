import 'dotenv/config';
import { createActionRuntime } from './actions/action-runtime';
import { createGroupMembership } from './auth/membership';
import { createAzureCredential } from './azure-credential';
import { loadConfig } from './config';
import { createGraphClient } from './graph/graph-client';
import { createLogger } from './logger';
import { createWorkspaceSentinel } from './workspaces/workspace-sentinel';
import { withGraphIncidents } from './graph/graph-routed-sentinel';
import { createGraphSecurityFor } from './ingest/graph-incidents';
import { openDb } from './store/open-db';
import { closeOnSignals, runMain } from './process-lifecycle';
import { createBotAdapter } from './teams/bot-adapter';
import { createConnectorClient } from './teams/connector-client';
import { createPacer } from './teams/conversation-pacer';
import { createJobRunner } from './jobs/job-runner';

/**
 * `npm run worker`: the action service alone, next to bots started with VIGIL_ACTION_WORKER=off.
 * It holds the write credentials (Azure, Graph, Defender) the chat-facing bots then need not; it
 * shares their database (DATABASE_URL), claims approved actions there, and leaves the incident
 * cards to the bots' outbox.
 */
async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  if (!config.actions) throw new Error('VIGIL_ACTION_POLICY_FILE is not set: there is nothing for the worker to do');
  if (config.database.kind !== 'pg') logger.warn('the worker and the bot share nothing without DATABASE_URL (PGlite is one process only)');
  const db = await openDb(config.database);
  const credential = createAzureCredential(config.azure);
  const graph = config.enrichment.graph ? createGraphClient({ baseUrl: config.enrichment.graph.baseUrl, timeoutMs: config.upstreamTimeoutMs, credential }) : undefined;
  const runtime = createActionRuntime({
    config,
    db,
    credential,
    graph,
    membership: createGroupMembership({ graph }),
    sentinel: withGraphIncidents(createWorkspaceSentinel(config, credential), createGraphSecurityFor(config, credential)),
    connector: createConnectorClient({ timeoutMs: config.upstreamTimeoutMs, token: createBotAdapter(config.bot, logger).token }),
    pacer: createPacer(db),
    logger,
    clock: () => new Date(),
    kickJobs: () => jobs.kick(),
  })!;
  // The effects of the actions it runs (comments, labels, chat cards), beside the bots' runners.
  const jobs = createJobRunner({ db, handlers: runtime.jobHandlers, logger, leaseMs: config.jobLeaseMs });
  runtime.worker.start();
  jobs.start();
  logger.info({ database: db.driver }, 'Vigil action worker is running');
  closeOnSignals(logger, async () => {
    await runtime.close();
    await jobs.stop();
    await db.close();
  });
}

runMain(main);
