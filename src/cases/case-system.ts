import crypto from 'node:crypto';
import { pause } from '../http/call-stopped';
import { DEFAULT_RETRY, retryDelay, type RetryPolicy } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';

export type CaseSystemName = 'servicenow' | 'jira';

/** How people name each system (cards, chat). */
export const CASE_SYSTEM_NAMES: Record<CaseSystemName, string> = { servicenow: 'ServiceNow', jira: 'Jira' };

/** Vigil's severities as a case system is told them: Sentinel's four plus the assessed Critical. */
export type CaseSeverity = 'Critical' | 'High' | 'Medium' | 'Low' | 'Informational';

/** A case as Vigil shows it on a card: the system's own id, the number people quote, a link. */
export interface CaseRef {
  system: CaseSystemName;
  /** ServiceNow's `sys_id`, Jira's issue id. */
  id: string;
  /** ServiceNow's `INC0010002`, Jira's `SOC-12`. */
  number: string;
  url: string;
  state: 'open' | 'resolved';
}

export interface NewCase {
  /** `correlationIdOf(incident.key)`: how the case is found again, so creating it is safe to repeat. */
  correlationId: string;
  title: string;
  description: string;
  severity: CaseSeverity;
  /** Back to the incident (the Sentinel portal link Vigil built). */
  link: { url: string; text: string };
}

export interface ResolveCase {
  /** The system's own resolution (ServiceNow `close_code`, Jira `resolution`); the configured default otherwise. */
  closeCode?: string;
  notes: string;
}

/**
 * One case system (ServiceNow, Jira). Every call goes through the one HTTP client; failures are
 * `UpstreamError`s naming the system, never carrying a credential. `create` is not idempotent on
 * its own: use `ensureCase`, which looks first.
 */
export interface CaseSystem {
  readonly system: CaseSystemName;
  /** The case holding this correlation id, or undefined. */
  findByCorrelationId(correlationId: string, signal?: AbortSignal): Promise<CaseRef | undefined>;
  /** Creates a case, once: this call is never retried by the HTTP layer (a lost answer may still have created it). */
  create(c: NewCase, signal?: AbortSignal): Promise<CaseRef>;
  /** Appends a work note (ServiceNow) or a comment (Jira). */
  addNote(id: string, text: string, signal?: AbortSignal): Promise<void>;
  /** Resolves (ServiceNow) or transitions to done (Jira); a case already resolved is left as it is. */
  resolve(id: string, r: ResolveCase, signal?: AbortSignal): Promise<CaseRef>;
  /** The case as it is now (resolved on the other side, say); undefined when it is gone. */
  get(id: string, signal?: AbortSignal): Promise<CaseRef | undefined>;
}

/**
 * The correlation id Vigil stores on a case for an incident: a fixed-length digest of the incident's
 * key. The key itself (a lower-cased ARM id, 200 characters and more) does not fit ServiceNow's
 * 100-character `correlation_id`, and a Jira label may hold neither its spaces nor its length.
 */
export const correlationIdOf = (incidentKey: string): string => `vigil-${crypto.createHash('sha256').update(incidentKey).digest('hex').slice(0, 32)}`;

const CORRELATION_ID = /^vigil-[0-9a-f]{32}$/;

/** Correlation ids go into query strings and JQL; only the ones `correlationIdOf` makes are accepted. */
export function assertCorrelationId(id: string): void {
  if (!CORRELATION_ID.test(id)) throw new Error(`not a Vigil correlation id: ${JSON.stringify(id.slice(0, 80))}`);
}

/** Only http(s) links reach a case (a `javascript:` link in a work note or ADF would be a trap). */
export const safeLink = (url: string): string | undefined => {
  if (!URL.canParse(url)) return undefined;
  const u = new URL(url);
  return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : undefined;
};

/**
 * The case for an incident, created only when none holds its correlation id. A create that failed in
 * a way a retry may fix (no answer, 429, 5xx) is retried under the one retry policy, looking again
 * first: a create whose answer was lost has made the case, and the look finds it. Two callers racing
 * can still both miss and both create; the caller serialises them (a durable job with a lease).
 */
export async function ensureCase(
  cs: CaseSystem,
  c: NewCase,
  o: { signal?: AbortSignal; retry?: Partial<RetryPolicy>; sleep?: (ms: number) => Promise<void>; random?: () => number } = {},
): Promise<{ case: CaseRef; created: boolean }> {
  assertCorrelationId(c.correlationId);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...o.retry };
  const started = Date.now();
  for (let n = 1; ; n++) {
    const found = await cs.findByCorrelationId(c.correlationId, o.signal);
    if (found) return { case: found, created: false };
    try {
      return { case: await cs.create(c, o.signal), created: true };
    } catch (e) {
      if (!(e instanceof UpstreamError)) throw e;
      const wait = retryDelay(policy, n, e, Date.now() - started, o.random);
      if (wait === undefined) throw e;
      await pause(wait, o.signal, o.sleep);
    }
  }
}

/** Text cut to `max` characters, with an ellipsis when cut. */
export const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
