import type { TokenCredential } from '@azure/identity';
import { loadActionPolicy, type ActionPolicy } from '../actions/action-policy';
import { createAzureCredential } from '../azure-credential';
import { loadConfig, type Config } from '../config';
import { requiredRoles } from '../deploy/required-permissions';
import { isAppError } from '../errors';
import { checkAbuseIpDb } from './abuseipdb';
import { checkAzureCredential } from './azure-credential';
import { checkBotFramework } from './bot-framework';
import { fail, ok, reason, SYMBOLS, withinBudget, type Check, type DoctorContext, type Outcome } from './check';
import { checkDatabase } from './database';
import { checkDefender } from './defender';
import { checkActionPolicy, checkOnCall } from './files';
import { checkGraph } from './graph';
import { checkLogAnalytics } from './log-analytics';
import { checkNsgs } from './nsgs';
import { checkPagerDuty } from './pagerduty';
import { checkSentinel } from './sentinel';
import { checkVirusTotal } from './virustotal';

/** Every check, in the order the report prints them; each decides whether its piece is configured. */
export const CHECKS: Array<{ name: string; check: Check }> = [
  { name: 'database', check: checkDatabase },
  { name: 'Bot Framework credential', check: checkBotFramework },
  { name: 'Azure credential', check: checkAzureCredential },
  { name: 'Sentinel workspace', check: checkSentinel },
  { name: 'network security groups', check: checkNsgs },
  { name: 'Microsoft Graph', check: checkGraph },
  { name: 'Defender for Endpoint', check: checkDefender },
  { name: 'Log Analytics', check: checkLogAnalytics },
  { name: 'VirusTotal', check: checkVirusTotal },
  { name: 'AbuseIPDB', check: checkAbuseIpDb },
  { name: 'PagerDuty', check: checkPagerDuty },
  { name: 'action policy', check: checkActionPolicy },
  { name: 'on-call schedule', check: checkOnCall },
];

/** Settings whose values must never reach the report, even inside an upstream's error message. */
const SECRET_SETTINGS = [
  'MicrosoftAppPassword',
  'AZURE_CLIENT_SECRET',
  'VIRUSTOTAL_API_KEY',
  'ABUSEIPDB_API_KEY',
  'PAGERDUTY_ROUTING_KEY',
  'VIGIL_WEBHOOK_SECRET',
  'VIGIL_PAGE_WEBHOOK_SECRET',
  'IDENTITY_HEADER',
];

const secretsIn = (env: Record<string, string | undefined>): string[] => {
  const values = SECRET_SETTINGS.map((k) => env[k]?.trim()).filter((v): v is string => Boolean(v && v.length >= 4));
  const url = env.DATABASE_URL && URL.canParse(env.DATABASE_URL) ? new URL(env.DATABASE_URL) : undefined;
  if (url?.password) values.push(url.password, decodeURIComponent(url.password));
  return values.sort((a, b) => b.length - a.length);
};

const line = (o: Outcome, secrets: string[]) => secrets.reduce((text, s) => text.split(s).join('[redacted]'), `${SYMBOLS[o.status]} ${o.name} — ${o.detail}`);

const summary = (config: Config, roles: number) =>
  [
    config.localMode ? 'local mode' : `bot ${config.bot.appType}`,
    config.database.kind === 'pg' ? `PostgreSQL${config.database.entra ? ' with Entra sign-in' : ''}` : 'PGlite',
    `${roles} app role(s) needed`,
  ].join(', ');

/**
 * `npm run doctor`: checks each configured piece of a deployment with the settings in `env`, and
 * reports one line per check through `print`, in table order, as soon as the lines before it are
 * done (the checks themselves run at once). Returns whether any failed. Reads only: it migrates
 * nothing, pages nobody and writes to no upstream. No secret setting's value is ever printed.
 */
export async function runDoctor(env: Record<string, string | undefined>, o: { print: (line: string) => void; timeoutMs?: number }): Promise<{ failed: boolean }> {
  const secrets = secretsIn(env);
  const timeoutMs = o.timeoutMs ?? 5000;
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (e) {
    const problems = isAppError(e) && Array.isArray(e.details?.problems) ? (e.details.problems as string[]) : [reason(e)];
    for (const p of problems) o.print(line(fail('settings', p), secrets));
    return { failed: true };
  }
  let policy: ActionPolicy | undefined;
  try {
    policy = config.actions ? loadActionPolicy(config.actions.policyFile) : undefined;
  } catch {
    policy = undefined; // reported by its own check; the roles then assume every kind is on
  }
  let credential: TokenCredential | undefined;
  try {
    credential = createAzureCredential(config.azure);
  } catch (e) {
    o.print(line(fail('settings', `the Azure credential cannot be built: ${reason(e)}`), secrets));
    return { failed: true };
  }
  const required = requiredRoles(config, policy);
  o.print(line(ok('settings', `valid (${summary(config, required.length)})`), secrets));
  const ctx: DoctorContext = { config, credential, policy, required, timeoutMs };
  const running = CHECKS.map(({ name, check }) =>
    withinBudget(
      check(ctx).catch((e: unknown) => [fail(name, reason(e))]),
      timeoutMs + 1000,
      () => [fail(name, `no answer within ${Math.round(timeoutMs / 1000)} s`)],
    ),
  );
  let failed = false;
  for (const outcomes of running) {
    for (const outcome of await outcomes) {
      failed ||= outcome.status === 'fail';
      o.print(line(outcome, secrets));
    }
  }
  return { failed };
}
