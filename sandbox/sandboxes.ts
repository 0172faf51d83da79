import { startAbuseIpDb } from './abuseipdb';
import { nsgId, SANDBOX_SUBSCRIPTION, startArm } from './arm';
import { startDefender } from './defender';
import { startGraph } from './graph';
import { createGraphSecurityRoutes, type GraphSecurityRoutes } from './graph-security';
import { demoUnifiedIncident } from './graph-security-data';
import { SANDBOX_JIRA, startJira, type JiraStandIn } from './jira';
import { startLogAnalytics, type LogAnalyticsStandIn } from './loganalytics';
import { startPagerDuty, type PagerDutyStandIn } from './pagerduty';
import { createSentinelRoutes, type SentinelIncidentResource } from './sentinel';
import { SANDBOX_SERVICENOW_CLIENT, startServiceNow, type ServiceNowStandIn } from './servicenow';
import type { StandIn } from './stand-in';
import { startVirusTotal } from './virustotal';

export const SANDBOX_VT_KEY = 'sandbox-virustotal-key';
export const SANDBOX_ABUSEIPDB_KEY = 'sandbox-abuseipdb-key';
/** The sandbox directory's responder group: Megan Bowen is in it. */
export const SANDBOX_RESPONDER_GROUP = '0b1d3c5e-0000-4000-8000-00000000050c';

export interface Sandboxes {
  virustotal: StandIn;
  abuseipdb: StandIn;
  graph: Awaited<ReturnType<typeof startGraph>>;
  /** Graph's security incidents on the Graph stand-in's endpoint, seeded with one demo unified incident. */
  graphSecurity: Omit<GraphSecurityRoutes, 'routes'>;
  /** ARM, with the Sentinel incidents API on the same endpoint, as in Azure. */
  arm: Awaited<ReturnType<typeof startArm>>;
  putIncident(incident: SentinelIncidentResource): void;
  /** What Vigil wrote to Sentinel: comments, threat-intelligence indicators, the incidents as they now are. */
  sentinel: Pick<ReturnType<typeof createSentinelRoutes>, 'comments' | 'indicators' | 'getIncident'>;
  defender: Awaited<ReturnType<typeof startDefender>>;
  /** Also holds the SecurityIncident and SecurityAlert rows of the seeded incidents, for the poller. */
  logAnalytics: LogAnalyticsStandIn;
  /** Events API v2, and signed v3 webhooks back once `subscribe`d (incidents acknowledged in it, say). */
  pagerDuty: PagerDutyStandIn;
  /** Case systems: ServiceNow's Table API and OAuth, Jira Cloud REST v3. */
  serviceNow: ServiceNowStandIn;
  jira: JiraStandIn;
  /** The settings for a ServiceNow case system (the default) and for Jira, pointing at these stand-ins. */
  caseEnv: { servicenow: Record<string, string>; jira: Record<string, string> };
  /** Vigil's settings pointing every enrichment source at these stand-ins. */
  env: Record<string, string>;
  /** The executors' targets in the sandbox (they need an action policy, which the caller picks). */
  actionEnv: Record<string, string>;
  all: StandIn[];
  close(): Promise<void>;
}

/** Every enrichment upstream's stand-in; `basePort` gives fixed ports (dev), none gives ephemeral ones (tests). */
export async function startSandboxes(basePort?: number, incidents: SentinelIncidentResource[] = []): Promise<Sandboxes> {
  const port = (n: number) => (basePort === undefined ? undefined : basePort + n);
  const sentinel = createSentinelRoutes(incidents);
  // Updated now, so a poller's first lookback sees it (`VIGIL_POLL_GRAPH_INCIDENTS=on` in `.env`).
  const graphSecurity = createGraphSecurityRoutes([demoUnifiedIncident('3962396', new Date().toISOString())]);
  const [virustotal, abuseipdb, graph, arm, defender, logAnalytics, pagerDuty, serviceNow, jira] = await Promise.all([
    startVirusTotal({ port: port(1), apiKey: SANDBOX_VT_KEY }),
    startAbuseIpDb({ port: port(2), apiKey: SANDBOX_ABUSEIPDB_KEY }),
    startGraph({ port: port(3), extraRoutes: graphSecurity.routes }),
    startArm({ port: port(4), extraRoutes: sentinel.routes }),
    startDefender({ port: port(5) }),
    startLogAnalytics({ port: port(6), incidents }),
    startPagerDuty({ port: port(7) }),
    startServiceNow({ port: port(8) }),
    startJira({ port: port(9) }),
  ]);
  const all = [virustotal, abuseipdb, graph, arm, defender, logAnalytics, pagerDuty, serviceNow, jira];
  return {
    virustotal,
    abuseipdb,
    graph,
    graphSecurity,
    arm,
    defender,
    logAnalytics,
    pagerDuty,
    serviceNow,
    jira,
    caseEnv: {
      servicenow: {
        VIGIL_CASE_SYSTEM: 'servicenow',
        SERVICENOW_INSTANCE_URL: serviceNow.url,
        SERVICENOW_CLIENT_ID: SANDBOX_SERVICENOW_CLIENT.clientId,
        SERVICENOW_CLIENT_SECRET: SANDBOX_SERVICENOW_CLIENT.clientSecret,
      },
      jira: {
        VIGIL_CASE_SYSTEM: 'jira',
        JIRA_BASE_URL: jira.url,
        JIRA_EMAIL: SANDBOX_JIRA.email,
        JIRA_API_TOKEN: SANDBOX_JIRA.apiToken,
        JIRA_PROJECT_KEY: SANDBOX_JIRA.projectKey,
        JIRA_ISSUE_TYPE: SANDBOX_JIRA.issueType,
      },
    },
    putIncident: sentinel.putIncident,
    sentinel,
    all,
    env: {
      VIRUSTOTAL_ENDPOINT: virustotal.url,
      VIRUSTOTAL_API_KEY: SANDBOX_VT_KEY,
      VIRUSTOTAL_PER_MINUTE: '1000',
      ABUSEIPDB_ENDPOINT: abuseipdb.url,
      ABUSEIPDB_API_KEY: SANDBOX_ABUSEIPDB_KEY,
      GRAPH_ENDPOINT: graph.url,
      ARM_ENDPOINT: arm.url,
      SENTINEL_SUBSCRIPTION_ID: SANDBOX_SUBSCRIPTION,
      MDE_ENDPOINT: defender.url,
      LOGS_ENDPOINT: logAnalytics.url,
      VIGIL_RESPONDER_GROUP_IDS: SANDBOX_RESPONDER_GROUP,
    },
    actionEnv: { BLOCK_NSG_ID: nsgId('edge-nsg'), ISOLATION_NSG_ID: nsgId('isolation-nsg') },
    async close() {
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
