import { createHttpClient } from '../../http/http-client';
import { reasonOf } from '../../http/upstream-error';
import { createTtlCache } from '../ttl-cache';
import type { SourceResult } from '../types';
import type { EnrichmentProvider } from '../orchestrator';

interface CheckResponse {
  data?: {
    abuseConfidenceScore?: number;
    countryCode?: string | null;
    isp?: string | null;
    domain?: string | null;
    usageType?: string | null;
    totalReports?: number;
    isWhitelisted?: boolean | null;
    isTor?: boolean;
    lastReportedAt?: string | null;
  };
}

/** AbuseIPDB API v2 `check` for IP addresses; the score is its abuse confidence (0–100). */
export function createAbuseIpDb(o: { baseUrl: string; apiKey: string; timeoutMs: number; cacheTtlMs: number }): EnrichmentProvider {
  const cache = createTtlCache<SourceResult>(o.cacheTtlMs);
  const name = 'AbuseIPDB';
  const http = createHttpClient({ upstream: name, baseUrl: o.baseUrl, headers: { Key: o.apiKey }, timeoutMs: o.timeoutMs, retry: { budgetMs: o.timeoutMs } });
  const lookup = async (ip: string): Promise<SourceResult> => {
    const at = new Date().toISOString();
    try {
      const body = await http.json<CheckResponse>('/api/v2/check', { query: { ipAddress: ip, maxAgeInDays: 90 } });
      const d = body?.data;
      if (!d) return { status: 'ok', source: name, facts: { seen: false }, at };
      return {
        status: 'ok',
        source: name,
        score: d.abuseConfidenceScore,
        facts: {
          confidence: `${d.abuseConfidenceScore ?? 0}%`,
          reports: d.totalReports ?? 0,
          country: d.countryCode ?? null,
          ISP: d.isp ?? null,
          usage: d.usageType ?? null,
          Tor: d.isTor ?? null,
          whitelisted: d.isWhitelisted ? true : null,
        },
        at,
      };
    } catch (e) {
      return { status: 'unavailable', source: name, reason: reasonOf(e), at };
    }
  };
  return {
    name,
    supports: (i) => i.kind === 'ip',
    lookup: (i) =>
      cache.get(
        i.value,
        () => lookup(i.value),
        (r) => r.status === 'ok',
      ),
  };
}
