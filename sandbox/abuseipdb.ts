import { startStandIn, type StandIn } from './stand-in';
import { CLEAN_IP, MALICIOUS_IP } from './threat-intel-data';

const report = (ip: string, score: number, extra: Record<string, unknown>) => ({
  data: { ipAddress: ip, isPublic: true, ipVersion: 4, isWhitelisted: false, abuseConfidenceScore: score, hostnames: [], isTor: false, numDistinctUsers: 0, lastReportedAt: null, ...extra },
});

/** AbuseIPDB API v2 `check`; needs the `Key` header like the real one. Unknown addresses score 0. */
export async function startAbuseIpDb(options: { port?: number; apiKey?: string } = {}): Promise<StandIn> {
  const known: Record<string, unknown> = {
    [MALICIOUS_IP]: report(MALICIOUS_IP, 100, {
      countryCode: 'NL',
      usageType: 'Data Center/Web Hosting/Transit',
      isp: 'Bulletproof Hosting BV',
      domain: 'bph.example',
      totalReports: 1234,
      numDistinctUsers: 321,
      lastReportedAt: '2026-11-23T22:10:00+00:00',
    }),
    [CLEAN_IP]: report(CLEAN_IP, 0, { countryCode: 'US', usageType: 'Fixed Line ISP', isp: 'Example ISP', domain: 'isp.example', totalReports: 0 }),
  };
  return startStandIn(
    'abuseipdb',
    [
      {
        method: 'GET',
        path: '/api/v2/check',
        handle: ({ query, headers }) => {
          if (options.apiKey && headers.key !== options.apiKey) {
            return { status: 401, body: { errors: [{ detail: 'Authentication failed. Your API key is either missing, incorrect, or revoked.', status: 401 }] } };
          }
          const ip = query.ipAddress;
          if (!ip) return { status: 422, body: { errors: [{ detail: 'The ip address field is required.', status: 422, source: { parameter: 'ipAddress' } }] } };
          return { status: 200, body: known[ip] ?? report(ip, 0, { countryCode: null, usageType: null, isp: null, domain: null, totalReports: 0 }) };
        },
      },
    ],
    options,
  );
}
