import { createKqlRunner, KqlError } from '../enrichment/kql-runner';
import { securityIncidentQuery } from '../ingest/security-incident-query';
import { fail, off, ok, reason, type Check } from './check';

const NAME = 'Log Analytics';

/** The workspace answers the poller's own SecurityIncident query for the last hour, one row at most. */
export const checkLogAnalytics: Check = async ({ config, credential, timeoutMs }) => {
  const logs = config.enrichment.logs;
  if (!logs) return [off(NAME, 'off (no Azure credential or LOGS_ENDPOINT)')];
  const runner = createKqlRunner({ baseUrl: logs.baseUrl, workspaceId: config.sentinel.workspaceId, credential });
  try {
    const table = await runner.run(securityIncidentQuery({ from: new Date(Date.now() - 3_600_000), take: 1 }), {
      timespan: 'PT1H',
      maxRows: 1,
      timeoutSeconds: Math.max(1, Math.floor(timeoutMs / 1000) - 2),
    });
    return [ok(NAME, `workspace ${config.sentinel.workspaceId} answers KQL (SecurityIncident: ${table.totalRows} row(s) in the last hour)`)];
  } catch (e) {
    const status = e instanceof KqlError ? e.status : undefined;
    if (status === 403) return [fail(NAME, `HTTP 403: the identity may not query workspace ${config.sentinel.workspaceId}; assign it Log Analytics Reader on the workspace`)];
    if (status === 401) return [fail(NAME, 'HTTP 401: Log Analytics refused the token; check AZURE_TENANT_ID and LOGS_ENDPOINT')];
    if (status === 404) return [fail(NAME, `HTTP 404: no workspace ${config.sentinel.workspaceId}; SENTINEL_WORKSPACE_ID is the workspace id (a GUID), not its name`)];
    return [fail(NAME, `${reason(e)} (workspace ${config.sentinel.workspaceId})`)];
  }
};
