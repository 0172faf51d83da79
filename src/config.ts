import { z } from 'zod';
import { AppError } from './errors';
import { isGuid, isNsgResourceId } from './ids';
import { loadWorkspaces, sentinelOf, singleWorkspace, type Workspace } from './workspaces/workspaces';
import { parseCaseSettings, type CaseSettings } from './cases/case-settings';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const LOCAL_WEBHOOK_SECRET = 'local-dev-secret';
const ENTRA_AUTHORITY = 'https://login.microsoftonline.com';

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

const httpUrl = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((v) => /^https?:\/\/[^\s/]+/.test(v), 'must be an http(s) URL')
    .transform((v) => v.replace(/\/+$/, ''));

const integer = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** An optional http(s) URL (an endpoint that is off when unset). */
const optionalHttpUrl = optionalText.pipe(
  z
    .string()
    .regex(/^https?:\/\/[^\s/]+/, 'must be an http(s) URL')
    .optional(),
);

/** A comma-separated list, each item trimmed (and `normalize`d), empty items dropped; unset is none. */
const commaList = (normalize: (item: string) => string = (x) => x) =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((x) => normalize(x.trim()))
        .filter((x) => x !== ''),
    );

const envSchema = z.object({
  PORT: integer(3978, 0, 65535),
  HOST: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MicrosoftAppId: optionalText.refine((v) => v === undefined || isGuid(v), "must be the bot's app id (a GUID)"),
  MicrosoftAppPassword: optionalText,
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
  MicrosoftAppTenantId: optionalText.refine((v) => v === undefined || isGuid(v), 'must be a tenant id (a GUID)'),
  VIGIL_BOT_OPENID_METADATA_URL: optionalHttpUrl,
  VIGIL_WEBHOOK_SECRET: optionalText,
  VIGIL_WEBHOOK_AUDIENCE: commaList(),
  VIGIL_WEBHOOK_ALLOWED_CALLERS: commaList((x) => x.toLowerCase()).refine((ids) => ids.every(isGuid), 'must be a comma-separated list of managed identity object ids (the oid claim, GUIDs)'),
  VIGIL_WEBHOOK_TENANT_ID: optionalText.refine((v) => v === undefined || isGuid(v), 'must be a tenant id (a GUID)'),
  VIGIL_WEBHOOK_AUTHORITY: httpUrl(ENTRA_AUTHORITY),
  DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL'),
  VIGIL_DATA_DIR: z.string().trim().min(1).default('./data'),
  SENTINEL_SUBSCRIPTION_ID: z.string().trim().default('00000000-0000-0000-0000-000000000000'),
  SENTINEL_RESOURCE_GROUP: z.string().trim().default('soc-rg'),
  SENTINEL_WORKSPACE_NAME: z.string().trim().default('soc-workspace'),
  SENTINEL_WORKSPACE_ID: z.string().trim().default('00000000-0000-0000-0000-000000000001'),
  ARM_ENDPOINT: httpUrl('https://management.azure.com'),
  AZURE_TENANT_ID: optionalText,
  AZURE_CLIENT_ID: optionalText,
  AZURE_CLIENT_SECRET: optionalText,
  AZURE_USE_MANAGED_IDENTITY: z.enum(['true', 'false']).default('false'),
  AZURE_AUTHORITY_HOST: httpUrl(ENTRA_AUTHORITY).refine((v) => v.startsWith('https://'), 'must be an https URL (@azure/identity refuses any other)'),
  VIGIL_DATABASE_AUTH: z.enum(['password', 'entra']).default('password'),
  VIGIL_UPSTREAM_TIMEOUT_MS: integer(10_000, 50, 120_000),
  VIGIL_JOB_LEASE_SECONDS: integer(60, 1, 3600),
  VIGIL_PORTAL_URL: httpUrl('https://portal.azure.com'),
  VIRUSTOTAL_API_KEY: optionalText,
  VIRUSTOTAL_ENDPOINT: httpUrl('https://www.virustotal.com'),
  VIRUSTOTAL_PER_MINUTE: integer(4, 1, 10_000),
  ABUSEIPDB_API_KEY: optionalText,
  ABUSEIPDB_ENDPOINT: httpUrl('https://api.abuseipdb.com'),
  GRAPH_ENDPOINT: optionalHttpUrl,
  MDE_ENDPOINT: optionalHttpUrl,
  LOGS_ENDPOINT: optionalHttpUrl,
  VIGIL_ENRICHMENT_TIMEOUT_MS: integer(5_000, 50, 120_000),
  VIGIL_ENRICHMENT_CACHE_SECONDS: integer(3_600, 0, 7 * 86_400),
  VIGIL_RESPONDER_GROUP_IDS: commaList().refine((ids) => ids.every(isGuid), 'must be a comma-separated list of Entra group object ids'),
  VIGIL_RESPONDER_USER_IDS: commaList().refine((ids) => ids.every(isGuid), 'must be a comma-separated list of Entra user object ids'),
  VIGIL_ONCALL_FILE: optionalText,
  VIGIL_WORKSPACES_FILE: optionalText,
  PAGERDUTY_ROUTING_KEY: optionalText,
  PAGERDUTY_ENDPOINT: httpUrl('https://events.pagerduty.com'),
  VIGIL_PAGE_WEBHOOK_URL: optionalHttpUrl,
  VIGIL_PAGE_WEBHOOK_SECRET: optionalText,
  PAGERDUTY_WEBHOOK_SECRETS: commaList().refine(
    (secrets) => secrets.every((x) => x.length >= 16),
    'must be the webhook subscription secrets, comma-separated (two while one is rotated), each at least 16 characters',
  ),
  VIGIL_ACTION_POLICY_FILE: optionalText,
  BLOCK_NSG_ID: optionalText.refine((v) => v === undefined || isNsgResourceId(v), 'must be the ARM id of a network security group (/subscriptions/…/networkSecurityGroups/<name>)'),
  BLOCK_RULE_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][\w.-]{0,60}$/, 'must be a security rule name (letters, digits, . _ -)')
    .default('vigil-block'),
  BLOCK_RULE_PRIORITY: integer(100, 100, 4095),
  ISOLATION_NSG_ID: commaList().refine((ids) => ids.every(isNsgResourceId), {
    error: (issue) =>
      `must be the ARM id of a network security group (/subscriptions/…/networkSecurityGroups/<name>), or a comma-separated list of them, one per region; not an NSG id: ${(issue.input as string[]).filter((id) => !isNsgResourceId(id)).join(', ')}`,
  }),
  VIGIL_ACTION_WORKER: z.enum(['on', 'off']).default('on'),
  VIGIL_KQL_MAX_ROWS: integer(20, 1, 1_000),
  VIGIL_KQL_TIMEOUT_SECONDS: integer(30, 1, 600),
  VIGIL_DIGEST_THRESHOLD: integer(10, 0, 10_000),
  VIGIL_DIGEST_MAX_LINES: integer(40, 5, 50),
  VIGIL_DIGEST_QUIET_SECONDS: integer(300, 10, 86_400),
  VIGIL_POLL_SECURITY_INCIDENTS: z.enum(['on', 'off']).default('off'),
  VIGIL_POLL_GRAPH_INCIDENTS: z.enum(['on', 'off']).default('off'),
  VIGIL_POLL_INTERVAL_SECONDS: integer(60, 5, 3_600),
  VIGIL_POLL_LOOKBACK_MINUTES: integer(60, 0, 30 * 24 * 60),
  VIGIL_POLL_OVERLAP_MINUTES: integer(10, 0, 24 * 60),
});

export type Env = z.input<typeof envSchema>;

/** The Azure credential: a client secret, or a managed identity (user-assigned with `clientId`). */
export interface AzureSettings {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  managedIdentity: boolean;
  /** Where client secrets are exchanged for tokens; https://login.microsoftonline.com unless a sovereign cloud or the sandbox. */
  authorityHost?: string;
}

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Local mode: no Bot Framework auth, loopback only, PGlite by default. */
  localMode: boolean;
  bot: {
    appId?: string;
    appPassword?: string;
    appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
    tenantId?: string;
    /** Where the Bot Framework's signing keys are published; Microsoft's by default (the sandbox changes it). */
    openIdMetadataUrl?: string;
  };
  /** The shared secret playbooks may send; always set in local mode (local-dev-secret by default). */
  webhookSecret?: string;
  /** Entra ID tokens from these managed identities are accepted too; undefined without VIGIL_WEBHOOK_AUDIENCE. */
  webhookEntra?: { tenantId: string; audiences: string[]; allowedCallers: string[]; authority: string };
  /** `entra`: PostgreSQL signs in with an Entra ID token from this Azure credential instead of a password. */
  database: { kind: 'pg'; url: string; entra?: AzureSettings } | { kind: 'pglite'; dataDir: string };
  sentinel: { subscriptionId: string; resourceGroup: string; workspaceName: string; workspaceId: string; armEndpoint: string };
  /** Every workspace Vigil serves: VIGIL_WORKSPACES_FILE's, or the SENTINEL_* one alone. */
  workspaces: Workspace[];
  azure: AzureSettings;
  upstreamTimeoutMs: number;
  /** How long a process holds a durable job (a comment, a label, a redraw) before another may take it over. */
  jobLeaseMs: number;
  portalUrl: string;
  enrichment: {
    timeoutMs: number;
    cacheTtlMs: number;
    /** A provider is enabled by its API key, or (Azure sources) by a credential or an explicit endpoint. */
    virustotal?: { baseUrl: string; apiKey: string; perMinute: number };
    abuseipdb?: { baseUrl: string; apiKey: string };
    graph?: { baseUrl: string };
    device?: { armEndpoint: string; mdeEndpoint?: string };
    logs?: { baseUrl: string };
  };
  /** Who may run `kql`: members of these groups, or these users. Empty: nobody. */
  responders: { groupIds: string[]; userIds: string[] };
  kql: { maxRows: number; timeoutSeconds: number };
  /** Storm digests: a channel's waiting lower-severity cards fold into one card; undefined when VIGIL_DIGEST_THRESHOLD=0. */
  digest?: { foldAbove: number; maxLines: number; quietMs: number };
  /** The SecurityIncident poller (through `enrichment.logs`, within `kql.timeoutSeconds`); undefined unless VIGIL_POLL_SECURITY_INCIDENTS=on. */
  poller?: { intervalMs: number; lookbackMs: number; overlapMs: number };
  /** The Graph security incident poller (through `enrichment.graph`), on the same interval, lookback and overlap; undefined unless VIGIL_POLL_GRAPH_INCIDENTS=on. */
  graphPoller?: { intervalMs: number; lookbackMs: number; overlapMs: number };
  /** Response actions; undefined without VIGIL_ACTION_POLICY_FILE. Each executor is on when it has its target. */
  actions?: {
    policyFile: string;
    blockNsg?: { nsgId: string; ruleName: string; priority: number };
    /** Isolation NSGs, one per region: Azure only lets a NIC use an NSG in its own region. */
    isolationNsgIds?: string[];
    /** Run the action service in this process (`off`: `npm run worker` runs it elsewhere). */
    runWorker: boolean;
  };
  /** On-call paging; undefined without VIGIL_ONCALL_FILE. */
  paging?: { scheduleFile: string; pagerDuty?: { endpoint: string; routingKey: string }; webhook?: { url: string; secret: string } };
  /** The case system (ServiceNow, Jira) and the policy that opens cases; undefined without VIGIL_CASE_SYSTEM. */
  cases?: CaseSettings;
  /** PagerDuty v3 webhook subscription secrets (several while one is rotated); no /api/pagerduty route without them. */
  pagerDutyWebhookSecrets: string[];
}

/**
 * Reads and validates every setting at once. Throws one CONFIG_INVALID error listing every
 * missing or invalid setting, so an operator fixes them all in one go.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`);
  if (!parsed.success) throw configError(problems);
  const e = parsed.data;

  const localMode = e.MicrosoftAppId === undefined;
  const host = e.HOST ?? (localMode ? '127.0.0.1' : '0.0.0.0');
  if (localMode && !LOOPBACK_HOSTS.has(host)) {
    problems.push(`HOST: without MicrosoftAppId there is no Bot Framework authentication, so Vigil only binds to loopback (got ${host}); set MicrosoftAppId or HOST=127.0.0.1`);
  }
  if (!localMode && e.MicrosoftAppType !== 'UserAssignedMSI' && !e.MicrosoftAppPassword) {
    problems.push('MicrosoftAppPassword: required with MicrosoftAppId unless MicrosoftAppType=UserAssignedMSI');
  }
  if (!localMode && e.MicrosoftAppType !== 'MultiTenant' && !e.MicrosoftAppTenantId) {
    problems.push(`MicrosoftAppTenantId: required when MicrosoftAppType=${e.MicrosoftAppType}`);
  }
  problems.push(...webhookAuthProblems(e, localMode));
  if (e.AZURE_CLIENT_SECRET && !(e.AZURE_TENANT_ID && e.AZURE_CLIENT_ID)) {
    problems.push('AZURE_CLIENT_SECRET: needs AZURE_TENANT_ID and AZURE_CLIENT_ID as well');
  }
  if (e.VIGIL_PAGE_WEBHOOK_URL && (e.VIGIL_PAGE_WEBHOOK_SECRET ?? '').length < 16) {
    problems.push('VIGIL_PAGE_WEBHOOK_SECRET: needed with VIGIL_PAGE_WEBHOOK_URL (at least 16 characters) to sign what Vigil sends');
  }
  if (e.PAGERDUTY_WEBHOOK_SECRETS.length > 0 && !e.VIGIL_ONCALL_FILE) {
    problems.push('VIGIL_ONCALL_FILE: PAGERDUTY_WEBHOOK_SECRETS lets PagerDuty acknowledge pages, and pages need the on-call schedule');
  }
  if ((e.PAGERDUTY_ROUTING_KEY || e.VIGIL_PAGE_WEBHOOK_URL) && !e.VIGIL_ONCALL_FILE) {
    problems.push('VIGIL_ONCALL_FILE: PagerDuty and the page webhook need the on-call schedule that says when to page');
  }
  if ((e.BLOCK_NSG_ID || e.ISOLATION_NSG_ID.length > 0) && !e.VIGIL_ACTION_POLICY_FILE) {
    problems.push('VIGIL_ACTION_POLICY_FILE: BLOCK_NSG_ID and ISOLATION_NSG_ID need the action policy that says who may request and approve');
  }
  problems.push(...pollerProblems(e, env, localMode));
  if (e.VIGIL_POLL_GRAPH_INCIDENTS === 'on' && !e.GRAPH_ENDPOINT && !((e.AZURE_TENANT_ID && e.AZURE_CLIENT_ID && e.AZURE_CLIENT_SECRET) || e.AZURE_USE_MANAGED_IDENTITY === 'true')) {
    problems.push(
      'VIGIL_POLL_GRAPH_INCIDENTS: reads /security/incidents through Microsoft Graph (SecurityIncident.ReadWrite.All); set an Azure credential (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_USE_MANAGED_IDENTITY=true) or GRAPH_ENDPOINT',
    );
  }
  problems.push(...databaseAuthProblems(e));
  const cases = caseSettingsOr(env, problems);
  if (problems.length > 0) throw configError(problems);
  const azure = Boolean((e.AZURE_TENANT_ID && e.AZURE_CLIENT_ID && e.AZURE_CLIENT_SECRET) || e.AZURE_USE_MANAGED_IDENTITY === 'true');
  const azureSettings: AzureSettings = {
    tenantId: e.AZURE_TENANT_ID,
    clientId: e.AZURE_CLIENT_ID,
    clientSecret: e.AZURE_CLIENT_SECRET,
    managedIdentity: e.AZURE_USE_MANAGED_IDENTITY === 'true',
    authorityHost: e.AZURE_AUTHORITY_HOST,
  };

  // Read and checked here, so a broken file stops start-up with its line numbers.
  const workspaces = e.VIGIL_WORKSPACES_FILE
    ? loadWorkspaces(e.VIGIL_WORKSPACES_FILE)
    : [singleWorkspace({ subscriptionId: e.SENTINEL_SUBSCRIPTION_ID, resourceGroup: e.SENTINEL_RESOURCE_GROUP, workspaceName: e.SENTINEL_WORKSPACE_NAME, workspaceId: e.SENTINEL_WORKSPACE_ID })];
  return {
    port: e.PORT,
    host,
    logLevel: e.LOG_LEVEL,
    localMode,
    bot: { appId: e.MicrosoftAppId, appPassword: e.MicrosoftAppPassword, appType: e.MicrosoftAppType, tenantId: e.MicrosoftAppTenantId, openIdMetadataUrl: e.VIGIL_BOT_OPENID_METADATA_URL },
    webhookSecret: e.VIGIL_WEBHOOK_SECRET ?? (localMode ? LOCAL_WEBHOOK_SECRET : undefined),
    webhookEntra: webhookEntraSettings(e),
    database: e.DATABASE_URL ? { kind: 'pg', url: e.DATABASE_URL, entra: e.VIGIL_DATABASE_AUTH === 'entra' ? azureSettings : undefined } : { kind: 'pglite', dataDir: e.VIGIL_DATA_DIR },
    // The Sentinel client, the poller and KQL still serve one workspace: the file's first, or SENTINEL_*'s.
    sentinel: { ...sentinelOf(workspaces[0]!), armEndpoint: e.ARM_ENDPOINT },
    workspaces,
    azure: azureSettings,
    upstreamTimeoutMs: e.VIGIL_UPSTREAM_TIMEOUT_MS,
    jobLeaseMs: e.VIGIL_JOB_LEASE_SECONDS * 1000,
    portalUrl: e.VIGIL_PORTAL_URL,
    enrichment: enrichmentSettings(e, azure),
    responders: { groupIds: e.VIGIL_RESPONDER_GROUP_IDS, userIds: e.VIGIL_RESPONDER_USER_IDS },
    kql: { maxRows: e.VIGIL_KQL_MAX_ROWS, timeoutSeconds: e.VIGIL_KQL_TIMEOUT_SECONDS },
    digest: e.VIGIL_DIGEST_THRESHOLD > 0 ? { foldAbove: e.VIGIL_DIGEST_THRESHOLD, maxLines: e.VIGIL_DIGEST_MAX_LINES, quietMs: e.VIGIL_DIGEST_QUIET_SECONDS * 1000 } : undefined,
    poller:
      e.VIGIL_POLL_SECURITY_INCIDENTS === 'on'
        ? { intervalMs: e.VIGIL_POLL_INTERVAL_SECONDS * 1000, lookbackMs: e.VIGIL_POLL_LOOKBACK_MINUTES * 60_000, overlapMs: e.VIGIL_POLL_OVERLAP_MINUTES * 60_000 }
        : undefined,
    graphPoller:
      e.VIGIL_POLL_GRAPH_INCIDENTS === 'on'
        ? { intervalMs: e.VIGIL_POLL_INTERVAL_SECONDS * 1000, lookbackMs: e.VIGIL_POLL_LOOKBACK_MINUTES * 60_000, overlapMs: e.VIGIL_POLL_OVERLAP_MINUTES * 60_000 }
        : undefined,
    actions: e.VIGIL_ACTION_POLICY_FILE
      ? {
          policyFile: e.VIGIL_ACTION_POLICY_FILE,
          blockNsg: e.BLOCK_NSG_ID ? { nsgId: e.BLOCK_NSG_ID, ruleName: e.BLOCK_RULE_NAME, priority: e.BLOCK_RULE_PRIORITY } : undefined,
          isolationNsgIds: e.ISOLATION_NSG_ID.length > 0 ? e.ISOLATION_NSG_ID : undefined,
          runWorker: e.VIGIL_ACTION_WORKER === 'on',
        }
      : undefined,
    cases,
    pagerDutyWebhookSecrets: e.PAGERDUTY_WEBHOOK_SECRETS,
    paging: e.VIGIL_ONCALL_FILE
      ? {
          scheduleFile: e.VIGIL_ONCALL_FILE,
          pagerDuty: e.PAGERDUTY_ROUTING_KEY ? { endpoint: e.PAGERDUTY_ENDPOINT, routingKey: e.PAGERDUTY_ROUTING_KEY } : undefined,
          webhook: e.VIGIL_PAGE_WEBHOOK_URL ? { url: e.VIGIL_PAGE_WEBHOOK_URL, secret: e.VIGIL_PAGE_WEBHOOK_SECRET! } : undefined,
        }
      : undefined,
  };
}

type ParsedEnv = z.infer<typeof envSchema>;

const enrichmentSettings = (e: ParsedEnv, azure: boolean): Config['enrichment'] => ({
  timeoutMs: e.VIGIL_ENRICHMENT_TIMEOUT_MS,
  cacheTtlMs: e.VIGIL_ENRICHMENT_CACHE_SECONDS * 1000,
  virustotal: e.VIRUSTOTAL_API_KEY ? { baseUrl: e.VIRUSTOTAL_ENDPOINT, apiKey: e.VIRUSTOTAL_API_KEY, perMinute: e.VIRUSTOTAL_PER_MINUTE } : undefined,
  abuseipdb: e.ABUSEIPDB_API_KEY ? { baseUrl: e.ABUSEIPDB_ENDPOINT, apiKey: e.ABUSEIPDB_API_KEY } : undefined,
  graph: azure || e.GRAPH_ENDPOINT ? { baseUrl: trimUrl(e.GRAPH_ENDPOINT ?? 'https://graph.microsoft.com') } : undefined,
  device: azure || e.MDE_ENDPOINT ? { armEndpoint: e.ARM_ENDPOINT, mdeEndpoint: e.MDE_ENDPOINT ? trimUrl(e.MDE_ENDPOINT) : azure ? 'https://api.securitycenter.microsoft.com' : undefined } : undefined,
  logs: azure || e.LOGS_ENDPOINT ? { baseUrl: trimUrl(e.LOGS_ENDPOINT ?? 'https://api.loganalytics.io') } : undefined,
});

/**
 * A playbook proves itself with the shared secret, an Entra ID token, or either. A token alone
 * proves only that someone in the tenant asked for it, so the audience needs the caller allow-list.
 */
const webhookAuthProblems = (e: ParsedEnv, localMode: boolean): string[] => {
  const problems: string[] = [];
  const entra = e.VIGIL_WEBHOOK_AUDIENCE.length > 0;
  if (!localMode && e.VIGIL_WEBHOOK_SECRET !== undefined && e.VIGIL_WEBHOOK_SECRET.length < 16) {
    problems.push('VIGIL_WEBHOOK_SECRET: at least 16 characters outside local mode; use the value the Sentinel playbook sends');
  }
  if (!localMode && e.VIGIL_WEBHOOK_SECRET === undefined && !entra) {
    problems.push(
      'VIGIL_WEBHOOK_SECRET or VIGIL_WEBHOOK_AUDIENCE: outside local mode /api/incidents needs a shared secret (the value the playbook sends), an Entra ID token audience (what its managed identity requests a token for), or both',
    );
  }
  if (entra && e.VIGIL_WEBHOOK_ALLOWED_CALLERS.length === 0) {
    problems.push(
      "VIGIL_WEBHOOK_ALLOWED_CALLERS: required with VIGIL_WEBHOOK_AUDIENCE; list the object ids of the playbooks' managed identities (any identity in the tenant can get a token for the audience)",
    );
  }
  if (entra && !(e.VIGIL_WEBHOOK_TENANT_ID ?? e.MicrosoftAppTenantId)) {
    problems.push('VIGIL_WEBHOOK_TENANT_ID: required with VIGIL_WEBHOOK_AUDIENCE (or set MicrosoftAppTenantId); tokens from other tenants are refused');
  }
  if (!entra && e.VIGIL_WEBHOOK_ALLOWED_CALLERS.length > 0) {
    problems.push('VIGIL_WEBHOOK_AUDIENCE: needed with VIGIL_WEBHOOK_ALLOWED_CALLERS; set it to the App ID URI or client id the playbook requests its token for');
  }
  return problems;
};

const webhookEntraSettings = (e: ParsedEnv): Config['webhookEntra'] => {
  const tenantId = e.VIGIL_WEBHOOK_TENANT_ID ?? e.MicrosoftAppTenantId;
  if (e.VIGIL_WEBHOOK_AUDIENCE.length === 0 || !tenantId) return undefined;
  return { tenantId: tenantId.toLowerCase(), audiences: e.VIGIL_WEBHOOK_AUDIENCE, allowedCallers: e.VIGIL_WEBHOOK_ALLOWED_CALLERS, authority: e.VIGIL_WEBHOOK_AUTHORITY };
};

/**
 * The poller reads Log Analytics (an endpoint or a credential, as `enrichmentSettings` decides) and
 * stores incidents under ARM ids built from the workspace settings: placeholders there would give
 * every polled incident a second card beside the webhook's.
 */
const pollerProblems = (e: ParsedEnv, env: Record<string, string | undefined>, localMode: boolean): string[] => {
  if (e.VIGIL_POLL_SECURITY_INCIDENTS !== 'on') return [];
  const problems: string[] = [];
  const logs = Boolean(e.LOGS_ENDPOINT || (e.AZURE_TENANT_ID && e.AZURE_CLIENT_ID && e.AZURE_CLIENT_SECRET) || e.AZURE_USE_MANAGED_IDENTITY === 'true');
  if (!logs) {
    problems.push(
      'VIGIL_POLL_SECURITY_INCIDENTS: reads the SecurityIncident table through Log Analytics; set an Azure credential (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_USE_MANAGED_IDENTITY=true) or LOGS_ENDPOINT',
    );
  }
  if (!localMode) {
    for (const name of ['SENTINEL_SUBSCRIPTION_ID', 'SENTINEL_RESOURCE_GROUP', 'SENTINEL_WORKSPACE_NAME', 'SENTINEL_WORKSPACE_ID']) {
      if (!env[name]?.trim()) problems.push(`${name}: required with VIGIL_POLL_SECURITY_INCIDENTS=on; polled incidents are queried by workspace id and stored by their ARM id`);
    }
  }
  return problems;
};

/**
 * Entra sign-in to PostgreSQL (Azure Database for PostgreSQL): the role is the identity's name in
 * the URL, the password is a token the Azure credential fetches, so a password in the URL means
 * the setting is half-done, and without a credential there is nothing to ask for a token.
 */
const databaseAuthProblems = (e: ParsedEnv): string[] => {
  if (e.VIGIL_DATABASE_AUTH !== 'entra') return [];
  const how = 'postgres://<identity name>@<server>.postgres.database.azure.com:5432/vigil?sslmode=require';
  if (!e.DATABASE_URL) return [`VIGIL_DATABASE_AUTH: entra signs in to PostgreSQL with an Entra ID token; set DATABASE_URL (${how}); the embedded PGlite has no sign-in`];
  const problems: string[] = [];
  const credential = Boolean((e.AZURE_TENANT_ID && e.AZURE_CLIENT_ID && e.AZURE_CLIENT_SECRET) || e.AZURE_USE_MANAGED_IDENTITY === 'true');
  if (!credential) {
    problems.push(
      'VIGIL_DATABASE_AUTH: entra needs an Azure credential to ask for the database token; set AZURE_USE_MANAGED_IDENTITY=true (with AZURE_CLIENT_ID for a user-assigned identity) or AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET',
    );
  }
  const url = URL.canParse(e.DATABASE_URL) ? new URL(e.DATABASE_URL) : undefined;
  if (url?.password) problems.push('DATABASE_URL: has a password, but VIGIL_DATABASE_AUTH=entra signs in with an Entra ID token instead; take the password out of the URL');
  if (url && !url.username) problems.push(`DATABASE_URL: name the database role with VIGIL_DATABASE_AUTH=entra: the managed identity's (or app's) name, as in ${how}`);
  return problems;
};

/** The case settings (their own module validates them); their problems join the others in the one error. */
const caseSettingsOr = (env: Record<string, string | undefined>, problems: string[]): CaseSettings | undefined => {
  try {
    return parseCaseSettings(env);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'CONFIG_INVALID') throw e;
    problems.push(...((e.details as { problems?: string[] } | undefined)?.problems ?? [e.message]));
    return undefined;
  }
};

const trimUrl = (url: string) => url.replace(/\/+$/, '');

const configError = (problems: string[]) => new AppError('CONFIG_INVALID', `Vigil cannot start; fix these settings:\n  - ${problems.join('\n  - ')}`, { problems });
