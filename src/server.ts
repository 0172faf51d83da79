import restify from 'restify';
import { AppError, toAppError, type ErrorCode } from './errors';
import type { WebhookAuth } from './ingest/webhook-auth';
import { readJsonBody, readRawBody } from './ingest/read-body';
import { handlePagerDutyWebhook, MAX_WEBHOOK_BYTES, type PagerDutyWebhookDeps } from './paging/pagerduty-webhook';
import { ingestIncident, type IngestDeps } from './ingest/ingest-incident';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { Db } from './store/db';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerDeps {
  /** Teams' activities: the Teams layer (`src/teams/`) authenticates and answers them. */
  handleActivity: (req: restify.Request, res: restify.Response) => Promise<void>;
  /** True once every card template is loaded and compiled; `/readyz` waits for it. */
  templatesReady: () => boolean;
  /** True once the warm-up (first render, store round trip, pool) is done; `/readyz` waits for it too. */
  warmedUp?: () => boolean;
  db: Db;
  ingest: IngestDeps;
  /** The shared secret and/or an Entra ID token; see `createWebhookAuth`. */
  authenticateWebhook: WebhookAuth;
  metrics: Metrics;
  logger: Logger;
  /** PagerDuty v3 webhooks (signed; see `handlePagerDutyWebhook`); no route without a secret and a pager. */
  pagerDutyWebhook?: PagerDutyWebhookDeps;
}

const httpStatus: Record<ErrorCode, number> = {
  CONFIG_INVALID: 500,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  UPSTREAM_FAILED: 502,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
};

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new AppError('UPSTREAM_TIMEOUT', `${what} did not answer within ${ms} ms`)), ms).unref())]);

/** The HTTP surface: Teams in, Sentinel in, and the probes an orchestrator needs. */
export function createServer(deps: ServerDeps): restify.Server {
  const server = restify.createServer({ name: 'vigil', handleUncaughtExceptions: false });
  const log = deps.logger;

  const sendError = (res: restify.Response, e: unknown) => {
    const err = toAppError(e);
    const status = httpStatus[err.code];
    if (status >= 500) log.error({ err: e }, 'request failed');
    const message = err.code === 'INTERNAL' ? 'internal error; see the Vigil log' : err.message;
    if (status === 401) res.header('WWW-Authenticate', 'Bearer');
    res.send(status, { error: { code: err.code, message } });
  };

  server.post('/api/messages', restify.plugins.bodyParser({ maxBodySize: MAX_BODY_BYTES, mapParams: false, rejectUnknown: true }), async (req: restify.Request, res: restify.Response) => {
    await deps.handleActivity(req, res);
  });

  server.post('/api/incidents', async (req: restify.Request, res: restify.Response) => {
    try {
      const caller = await deps.authenticateWebhook(req.header('authorization'));
      const mediaType = (req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'application/json') {
        req.resume();
        deps.metrics.incidentsReceived.inc({ outcome: 'refused' });
        log.warn({ code: 'UNSUPPORTED_MEDIA_TYPE', contentType: mediaType.slice(0, 100) }, 'incident refused');
        res.send(415, {
          error: {
            code: 'UNSUPPORTED_MEDIA_TYPE',
            message: `content-type: must be application/json (got ${mediaType === '' ? 'none' : JSON.stringify(mediaType.slice(0, 100))}); send the incident as JSON, e.g. the playbook's HTTP action with Content-Type: application/json`,
          },
        });
        return;
      }
      const body = await readJsonBody(req, MAX_BODY_BYTES);
      const { incident, outcome } = await ingestIncident(body, deps.ingest);
      deps.metrics.incidentsReceived.inc({ outcome: outcome.kind });
      log.info({ incident: incident.id, number: incident.number, severity: incident.severity, outcome: outcome.kind, caller }, 'incident received');
      res.send(202, { outcome: outcome.kind, incident: { id: incident.id, number: incident.number } });
    } catch (e) {
      deps.metrics.incidentsReceived.inc({ outcome: 'refused' });
      if (e instanceof AppError && e.code !== 'INTERNAL') log.warn({ code: e.code, reason: e.message }, 'incident refused');
      sendError(res, e);
    }
  });

  const pagerDuty = deps.pagerDutyWebhook;
  if (pagerDuty) {
    server.post('/api/pagerduty', async (req: restify.Request, res: restify.Response) => {
      try {
        // The signature is over the bytes as sent: the body is read raw, and parsed only once verified.
        const raw = await readRawBody(req, MAX_WEBHOOK_BYTES);
        const answer = await handlePagerDutyWebhook(raw, req.headers, pagerDuty);
        if (answer.status === 401) log.warn({ status: answer.status }, 'PagerDuty webhook refused: bad or missing signature');
        res.send(answer.status, answer.body);
      } catch (e) {
        sendError(res, e);
      }
    });
  }

  server.get('/healthz', async (_req: restify.Request, res: restify.Response) => {
    res.send(200, { status: 'ok' });
  });

  server.get('/readyz', async (_req: restify.Request, res: restify.Response) => {
    try {
      if (!deps.templatesReady()) throw new AppError('INTERNAL', 'card templates are not loaded yet');
      if (deps.warmedUp && !deps.warmedUp()) throw new AppError('INTERNAL', 'warming up: the first card render and store round trip are not done yet');
      await withTimeout(deps.db.query('SELECT 1'), 2000, 'the database');
      res.send(200, { status: 'ready', database: deps.db.driver, templates: 'loaded' });
    } catch (e) {
      res.send(503, { status: 'unavailable', reason: toAppError(e).message });
    }
  });

  server.get('/metrics', async (_req: restify.Request, res: restify.Response) => {
    res.setHeader('content-type', deps.metrics.registry.contentType);
    res.end(await deps.metrics.registry.metrics());
  });

  return server;
}
