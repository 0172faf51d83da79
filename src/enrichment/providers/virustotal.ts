import { createHttpClient } from '../../http/http-client';
import { reasonOf } from '../../http/upstream-error';
import { createRateLimiter, type RateLimiter } from '../rate-limiter';
import { createTtlCache } from '../ttl-cache';
import type { Indicator, SourceResult } from '../types';
import type { EnrichmentProvider } from '../orchestrator';

interface VtObject {
  data?: {
    attributes?: {
      last_analysis_stats?: Record<string, number>;
      reputation?: number;
      country?: string;
      asn?: number;
      as_owner?: string;
      meaningful_name?: string;
      type_description?: string;
    };
  };
}

/** VirusTotal's id for a URL: its unpadded base64url form. */
export const vtUrlId = (url: string) => Buffer.from(url).toString('base64url');

const pathFor = (i: Indicator): string | undefined => {
  switch (i.kind) {
    case 'ip':
      return `/api/v3/ip_addresses/${encodeURIComponent(i.value)}`;
    case 'domain':
      return `/api/v3/domains/${encodeURIComponent(i.value)}`;
    case 'url':
      return `/api/v3/urls/${vtUrlId(i.value)}`;
    case 'hash':
      return `/api/v3/files/${encodeURIComponent(i.value)}`;
    default:
      return undefined;
  }
};

/**
 * VirusTotal API v3 for IPs, domains, URLs and file hashes. Score = malicious ÷ all engines × 100.
 * Every look-up goes through one limiter (the free tier allows 4 a minute): look-ups queue rather
 * than fail, and the cache makes repeats free.
 */
export function createVirusTotal(o: { baseUrl: string; apiKey: string; timeoutMs: number; cacheTtlMs: number; perMinute: number; limiter?: RateLimiter }): EnrichmentProvider {
  const limiter = o.limiter ?? createRateLimiter({ perMinute: o.perMinute });
  const cache = createTtlCache<SourceResult>(o.cacheTtlMs);
  const name = 'VirusTotal';
  // Within the look-up's own budget: a retry that cannot finish in time is not tried.
  const http = createHttpClient({ upstream: name, baseUrl: o.baseUrl, headers: { 'x-apikey': o.apiKey }, timeoutMs: o.timeoutMs, retry: { budgetMs: o.timeoutMs } });
  const lookup = async (i: Indicator): Promise<SourceResult> => {
    const at = new Date().toISOString();
    try {
      const body = await limiter.schedule(() => http.json<VtObject>(pathFor(i)!));
      const a = body?.data?.attributes;
      if (!a) return { status: 'ok', source: name, facts: { seen: false }, at };
      const stats = a.last_analysis_stats ?? {};
      const total = Object.values(stats).reduce((s, n) => s + (Number.isFinite(n) ? n : 0), 0);
      const malicious = stats.malicious ?? 0;
      return {
        status: 'ok',
        source: name,
        score: total > 0 ? (malicious / total) * 100 : undefined,
        facts: {
          malicious: `${malicious}/${total}`,
          reputation: a.reputation ?? null,
          country: a.country ?? null,
          AS: a.asn ? `AS${a.asn}${a.as_owner ? ` ${a.as_owner}` : ''}` : null,
          name: a.meaningful_name ?? null,
        },
        at,
      };
    } catch (e) {
      return { status: 'unavailable', source: name, reason: reasonOf(e), at };
    }
  };
  return {
    name,
    supports: (i) => pathFor(i) !== undefined,
    lookup: (i) =>
      cache.get(
        `${i.kind}:${i.value.toLowerCase()}`,
        () => lookup(i),
        (r) => r.status === 'ok',
      ),
  };
}
