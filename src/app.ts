import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createAzureCredential } from './azure-credential';
import { VigilBot } from './bot/vigil-bot';
import { renderIncidentCard } from './incidents/render-incident-card';
import { summarizeEnrichment, type IncidentEnrichment } from './enrichment/summarize';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { metricResponseTimes } from './stats/soc-stats';
import { createWorkspaceSentinel } from './workspaces/workspace-sentinel';
import { createServer } from './server';
import { createWebhookAuth } from './ingest/webhook-auth';
import { createEntraTokenVerifier } from './ingest/entra-token';
import type { Db } from './store/db';
import { openDb } from './store/open-db';
import { getIncident, type AlsoInCommit, type UpsertOutcome } from './store/incident-repository';
import type { EnrichmentProvider } from './enrichment/orchestrator';
import { createIncidentFlow, currentSeverity } from './incidents/incident-flow';
import { createProviders } from './enrichment/providers';
import { createWorkspaceLogs } from './workspaces/workspace-logs';
import { createGraphClient } from './graph/graph-client';
import { createGroupMembership, createResponderCheck } from './auth/membership';
import { loadSchedule } from './paging/load-schedule';
import { createPager } from './paging/pager';
import { createPersonResolver } from './paging/resolve-person';
import type { Incident } from './incidents/incident';
import { createBotAdapter } from './teams/bot-adapter';
import { createActivityEndpoint } from './teams/activity-endpoint';
import { createConnectorClient } from './teams/connector-client';
import { createPacer } from './teams/conversation-pacer';
import { createOutbox, type OutboxOptions } from './teams/outbox';
import { createJobRunner, type JobRunnerOptions } from './jobs/job-runner';
import { countJobs } from './store/job-queue';
import { createShiftHandoffs } from './stats/shift-handoff';
import { replacePinnedRoutes } from './store/route-repository';
import { pinnedRoutesOf } from './workspaces/workspaces';
import { loadCasePolicy } from './cases/case-policy';
import { createCaseSystem } from './cases/case-settings';
import { createIncidentCases } from './cases/incident-cases';
import { getIncidentCase } from './store/case-repository';
import { createPagerDutyEvents } from './paging/pagerduty-events';
import { createActionRuntime, type ActionRuntime } from './actions/action-runtime';
import type { Notice } from './actions/response-view';
import { createIncidentWriter } from './sentinel/incident-writer';
import { routeWriteBack } from './incidents/route-write-back';
import { createGraphIncidents } from './ingest/graph-incidents';
import { withGraphIncidents } from './graph/graph-routed-sentinel';
import { loadCardTemplates, cardTemplatesLoaded } from './cards/render-card';
import type { CardBudget } from './cards/budget';
import { warmUp } from './warm-up';
import type { SecurityIncidentPollerOptions } from './ingest/security-incident-poller';
import { createSecurityIncidentPollers } from './ingest/security-incident-pollers';

const AUTH_TIMEOUT_MS = 3000;

export interface AppOptions {
  logger?: Logger;
  /** Enrichment providers; by default the ones the configuration enables. */
  providers?: EnrichmentProvider[];
  /** The paging clock (tests move it); the real time by default. */
  clock?: () => Date;
  /** An already open database (tests share one); otherwise the configured one is opened. */
  db?: Db;
  /** How often the in-process action worker looks for approved actions (tests shorten it). */
  workerPollMs?: number;
  /** The SecurityIncident poller's interval, page size and lease (tests shorten them). */
  poller?: Partial<Pick<SecurityIncidentPollerOptions, 'intervalMs' | 'pageSize' | 'leaseMs'>>;
  /** How long `/api/messages` waits for the Bot Framework's signing keys (tests shorten it). */
  botAuthTimeoutMs?: number;
  /** The durable job runner's poll and backoff (tests shorten them). */
  jobs?: Partial<Pick<JobRunnerOptions, 'pollMs' | 'baseBackoffMs' | 'maxBackoffMs' | 'leaseMs' | 'random'>>;
  /** How often open cases are read again, instead of VIGIL_CASE_WATCH_SECONDS (tests shorten it). */
  caseWatchMs?: number;
  outbox?: Partial<Pick<OutboxOptions, 'pollMs' | 'baseBackoffMs' | 'maxBackoffMs' | 'leaseMs' | 'batchSize' | 'random' | 'updateSpacingMs'>>;
}

export type App = Awaited<ReturnType<typeof createApp>>;

/**
 * Builds Vigil from its configuration: store, clients, bot, outbox and HTTP server. Nothing here
 * reads the environment, so tests build as many apps as they need, each against its own sandbox.
 */
export async function createApp(config: Config, options: AppOptions = {}) {
  const logger = options.logger ?? createLogger(config.logLevel);
  // A missing or broken card template stops start-up here, naming the file.
  const templates = loadCardTemplates();
  // A broken schedule stops start-up here: Vigil never runs with nobody on call by mistake.
  const schedule = config.paging ? loadSchedule(config.paging.scheduleFile) : undefined;
  // A broken case policy stops start-up too: cases are opened as the file says, or not at all.
  const casePolicy = config.cases?.policyFile ? loadCasePolicy(config.cases.policyFile) : undefined;
  const clock = options.clock ?? (() => new Date());
  const metrics = createMetrics();
  const db = options.db ?? (await openDb(config.database));
  const ownsDb = !options.db;
  // The workspaces file's channels get their workspace's incidents, whatever chat subscribed them to.
  await replacePinnedRoutes(db, pinnedRoutesOf(config.workspaces));
  metrics.readResponseTimesFrom(() => metricResponseTimes(db, clock()));
  const credential = createAzureCredential(config.azure);
  const { adapter, auth: botAuth, token } = createBotAdapter(config.bot, logger);
  const connector = createConnectorClient({ timeoutMs: config.upstreamTimeoutMs, token });
  // Each workspace's Log Analytics: its SecurityIncident table, its incidents' look-ups, `kql workspace=…`.
  const logs = createWorkspaceLogs(config, credential);
  const providers = options.providers ?? createProviders(config, credential, logs);
  let actions: ActionRuntime | undefined;
  /** The incident card: for everyone (the outbox) or as one person sees it (their buttons, a note for them). */
  const cardWith = async (incident: Incident, summary: IncidentEnrichment, viewerId?: string, notice?: Notice, budget?: CardBudget) =>
    renderIncidentCard(
      incident,
      summary,
      new Date(),
      actions && (await actions.views.forIncident(incident, summary, viewerId, notice)),
      budget,
      cases && { system: cases.system, ref: await getIncidentCase(db, incident.key) },
    );
  const cardFor = async (incident: Incident, viewerId?: string, notice?: Notice, budget?: CardBudget) => cardWith(incident, await flow.summaryOf(incident), viewerId, notice, budget);
  const renderCard = async (incidentKey: string, budget?: CardBudget) => {
    const stored = await getIncident(db, incidentKey);
    return stored && { card: await cardFor(stored.incident, undefined, undefined, budget), summary: `Incident #${stored.incident.number}: ${stored.incident.severity}` };
  };
  // One pacer for every send to Teams (cards, digests, pages, mentions), counted in the store.
  const pacer = createPacer(db);
  const outbox = createOutbox({ db, connector, pacer, renderCard, logger, metrics, digest: config.digest, ...options.outbox });
  const graph = config.enrichment.graph ? createGraphClient({ baseUrl: config.enrichment.graph.baseUrl, timeoutMs: config.upstreamTimeoutMs, credential }) : undefined;
  // Membership is checked while a click waits for its answer: a short budget, and the answer is cached.
  const authGraph = config.enrichment.graph ? createGraphClient({ baseUrl: config.enrichment.graph.baseUrl, timeoutMs: Math.min(config.upstreamTimeoutMs, AUTH_TIMEOUT_MS), credential }) : undefined;
  const membership = createGroupMembership({ graph: authGraph });
  const resolvePerson = createPersonResolver({ db, graph });
  const pager =
    schedule &&
    createPager({
      db,
      schedule,
      connector,
      pacer,
      backoff: options.outbox && { baseBackoffMs: options.outbox.baseBackoffMs, maxBackoffMs: options.outbox.maxBackoffMs },
      logger,
      clock,
      resolvePerson,
      severityOf: currentSeverity(db),
      botId: config.bot.appId ? `28:${config.bot.appId}` : undefined,
      pagerDuty: config.paging?.pagerDuty,
      webhook: config.paging?.webhook,
      timeoutMs: config.upstreamTimeoutMs,
    });
  // A case in ServiceNow or Jira for the incidents the policy names (or a responder asks for).
  const cases =
    config.cases &&
    createIncidentCases({
      db,
      system: createCaseSystem(config.cases.system, { timeoutMs: config.upstreamTimeoutMs }),
      policy: casePolicy,
      logger,
      kickJobs: () => jobs.kick(),
      watchMs: options.caseWatchMs ?? config.cases.watchMs,
    });
  // The case policy is asked in the commit of every stored change (webhook, pollers, write-backs).
  const askCasesIn: AlsoInCommit | undefined = cases && ((tx, incident, outcome) => cases.askIn(tx, incident, { created: outcome.kind === 'created' }));
  // stored → card queued → enriched → reassessed → paged (and a case opened).
  const flow = createIncidentFlow({ db, providers, logger, kickOutbox: () => outbox.kick(), pager, cases });
  const enricher = flow.enricher;
  // Each incident's writes go to its own workspace (and tenant).
  const sentinel = createWorkspaceSentinel(config, credential);
  // Defender's unified incidents: polled and written back through Graph, into the same flow.
  const graphIncidents = createGraphIncidents({ config, credential, db, logger, onChange: (incident) => flow.stored(incident), alsoInCommit: askCasesIn, poller: options.poller });
  actions = createActionRuntime({
    config,
    db,
    credential,
    graph,
    membership,
    sentinel: withGraphIncidents(sentinel, graphIncidents.client),
    connector,
    pacer,
    logger,
    clock,
    kickOutbox: () => outbox.kick(),
    kickJobs: () => jobs.kick(),
    workerPollMs: options.workerPollMs,
  });
  // One runner for every durable effect this process can carry out.
  // The shift summary to the SOC channels at each rotation hand-off (with a schedule).
  const handoffs = schedule && createShiftHandoffs({ db, schedule, clock, connector, pacer, resolvePerson, logger, kickJobs: () => jobs.kick() });
  const jobs = createJobRunner({ db, handlers: { ...actions?.jobHandlers, ...handoffs?.jobHandlers, ...cases?.jobHandlers }, logger, metrics, leaseMs: config.jobLeaseMs, ...options.jobs });
  metrics.readJobCountsFrom(() => countJobs(db));
  const onIncidentChange = (incident: Incident, outcome?: UpsertOutcome) => flow.stored(incident, outcome);
  // The third way in: the same ingest path as the webhook, for incidents the webhook never saw.
  const poller =
    config.poller && logs
      ? createSecurityIncidentPollers({
          logs,
          ingest: { db, portalUrl: config.portalUrl, workspaces: config.workspaces, onChange: onIncidentChange, alsoInCommit: askCasesIn },
          logger,
          timeoutSeconds: config.kql.timeoutSeconds,
          ...config.poller,
          ...options.poller,
        })
      : undefined;
  const bot = new VigilBot({
    db,
    sentinel,
    portalUrl: config.portalUrl,
    renderIncidentCard: cardFor,
    providers,
    kql: logs && { logs, ...config.kql },
    responders: createResponderCheck({ membership, ...config.responders }),
    actions: actions && { service: actions.service, views: actions.views, incidentCard: cardFor },
    incidentWriter: routeWriteBack({
      sentinel: createIncidentWriter({ db, sentinel, portalUrl: config.portalUrl, onChange: (incident) => onIncidentChange(incident), alsoInCommit: askCasesIn, logger }),
      graph: graphIncidents.writer,
    }),
    paging: pager && schedule && { pager, schedule, clock, resolvePerson },
    cases,
    logger,
    tenantId: config.bot.tenantId,
  });
  let warmedUp = false;
  const server = createServer({
    handleActivity: createActivityEndpoint({ adapter, auth: botAuth, logic: (context) => bot.run(context), logger, timeoutMs: options.botAuthTimeoutMs ?? AUTH_TIMEOUT_MS, maxPending: 64 }),
    templatesReady: cardTemplatesLoaded,
    warmedUp: () => warmedUp,
    db,
    authenticateWebhook: createWebhookAuth({
      secret: config.webhookSecret,
      // The playbook waits while the signing keys are fetched (once, then cached): a short budget.
      verifyEntraToken: config.webhookEntra && createEntraTokenVerifier({ ...config.webhookEntra, timeoutMs: Math.min(config.upstreamTimeoutMs, AUTH_TIMEOUT_MS) }),
    }),
    metrics,
    logger,
    // Acknowledged or resolved in PagerDuty: the page in Vigil follows (a signed v3 webhook).
    pagerDutyWebhook: pager && config.pagerDutyWebhookSecrets.length > 0 ? { secrets: config.pagerDutyWebhookSecrets, apply: createPagerDutyEvents({ db, pager, logger }) } : undefined,
    ingest: {
      db,
      portalUrl: config.portalUrl,
      workspaces: config.workspaces,
      onChange: onIncidentChange,
      alsoInCommit: askCasesIn,
    },
  });

  return {
    db,
    outbox,
    jobs,
    handoffs,
    enricher,
    pager,
    actions,
    cases,
    poller,
    graphPoller: graphIncidents.poller,
    logger,
    server,
    /** Starts the outbox and listens; resolves with the base URL. */
    async listen(port = config.port, host = config.host): Promise<string> {
      outbox.start();
      jobs.start();
      pager?.start();
      handoffs?.start();
      if (actions?.runWorker) actions.worker.start();
      poller?.start();
      graphIncidents.poller?.start();
      cases?.watch?.start();
      void enricher.resume().catch((e: unknown) => logger.error({ err: e }, 'could not resume enrichment'));
      await new Promise<void>((resolve) => server.listen(port, host, resolve));
      const address = server.address() as AddressInfo;
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      // The port answers /healthz at once; /readyz only once warm, so the first card after a start
      // is as quick as the hundredth. The line below (the URL) comes once ready.
      const warmUpMs = await warmUp({
        db,
        workspace: config.sentinel,
        portalUrl: config.portalUrl,
        providers,
        renderCard: (incident, answers) => cardWith(incident, summarizeEnrichment(incident, answers, providers)),
        selfUrl: url,
      }).catch((e: unknown) => {
        logger.warn({ err: e }, 'warm-up failed; ready without it');
        return undefined;
      });
      warmedUp = true;
      logger.info({ url, localMode: config.localMode, database: db.driver, templates: templates.length, warmUpMs: warmUpMs && Math.round(warmUpMs) }, 'Vigil is listening');
      return url;
    },
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.server.closeIdleConnections();
      await poller?.stop();
      await graphIncidents.poller?.stop();
      await cases?.watch?.stop();
      await enricher.idle();
      await pager?.stop();
      handoffs?.stop();
      await actions?.close();
      await jobs.stop();
      await outbox.stop();
      server.server.closeAllConnections();
      await closed;
      if (ownsDb) await db.close();
    },
  };
}
