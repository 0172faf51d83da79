import type { TokenCredential } from '@azure/identity';
import type { ActionPolicy } from '../actions/action-policy';
import type { Config } from '../config';
import type { RequiredRole } from '../deploy/required-permissions';
import { createHttpClient } from '../http/http-client';
import { NO_RETRY } from '../http/retry-policy';
import { isUpstreamError } from '../http/upstream-error';

/** One line of the report: ✓ works, ✗ broken (the detail says what to fix), – not configured. */
export interface Outcome {
  status: 'ok' | 'fail' | 'off';
  name: string;
  detail: string;
}

export interface DoctorContext {
  config: Config;
  /** The Azure credential Vigil uses, built from the settings; undefined without one. */
  credential?: TokenCredential;
  /** The action policy when it loads; its kinds decide which executors need roles. */
  policy?: ActionPolicy;
  required: RequiredRole[];
  /** Each check's budget; a check that takes longer is reported as not answering. */
  timeoutMs: number;
}

/** A check for one configured piece: its lines, or one `off` line when the piece is not configured. */
export type Check = (ctx: DoctorContext) => Promise<Outcome[]>;

export const ok = (name: string, detail: string): Outcome => ({ status: 'ok', name, detail });
export const fail = (name: string, detail: string): Outcome => ({ status: 'fail', name, detail });
export const off = (name: string, detail: string): Outcome => ({ status: 'off', name, detail });

export const SYMBOLS: Record<Outcome['status'], string> = { ok: '✓', fail: '✗', off: '–' };

/** What an upstream answered, read once; `json` is undefined when the body is not JSON. */
export interface Probe {
  status: number;
  json?: unknown;
}

/** Thrown when the upstream never answered: the message says so, and names no header or key. */
export class NoAnswer extends Error {
  override name = 'NoAnswer';
}

/** Every status is an answer to a check: the doctor reports it rather than retrying or throwing. */
const EVERY_STATUS = Array.from({ length: 500 }, (_, n) => n + 100);

/** One HTTP call with the check's budget, through the one HTTP layer. Throws `NoAnswer` when there was no answer at all. */
export async function probe(url: string, o: { timeoutMs: number; headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: unknown }): Promise<Probe> {
  const host = new URL(url).host;
  const http = createHttpClient({ upstream: host, timeoutMs: o.timeoutMs, retry: NO_RETRY });
  try {
    const res = await http.request<unknown>({ method: o.method ?? 'GET', path: url, headers: { accept: 'application/json', ...o.headers }, body: o.body, accept: EVERY_STATUS });
    return { status: res.status, json: res.body };
  } catch (e) {
    if (isUpstreamError(e) && e.status === 0) throw new NoAnswer(e.timedOut ? `no answer within ${Math.round(o.timeoutMs / 1000)} s` : `unreachable (${host})`);
    throw e;
  }
}

/** The error code an Azure, Graph or Defender error body carries (`{error: {code}}`). */
export const errorCode = (json: unknown): string | undefined => {
  const code = (json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
};

/** `HTTP 403 Authorization_RequestDenied` */
export const httpStatus = (p: Probe) => `HTTP ${p.status}${errorCode(p.json) ? ` ${errorCode(p.json)}` : ''}`;

/** A token's claims, read without verifying it (the issuer's own token, fetched just now). */
export const tokenClaims = (token: string): { roles?: string[]; oid?: string; appid?: string; azp?: string; aud?: string } => {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { roles?: string[] };
  } catch {
    return {};
  }
};

/** The reason an `@azure/identity` or other failure gives, on one line and cut short. */
export const reason = (e: unknown): string => {
  const message = String((e as { message?: unknown })?.message ?? e)
    .replace(/\s+/g, ' ')
    .trim();
  return message.length > 300 ? `${message.slice(0, 297)}…` : message;
};

/** Runs `work` within `timeoutMs`; a check still running then is reported, not waited for. */
export async function withinBudget<T>(work: Promise<T>, timeoutMs: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A bearer header for `scope`, or none without a credential (the sandbox takes requests without). */
export async function bearer(ctx: DoctorContext, scope: string): Promise<Record<string, string>> {
  if (!ctx.credential) return {};
  const token = await ctx.credential.getToken(scope);
  return token?.token ? { authorization: `Bearer ${token.token}` } : {};
}
