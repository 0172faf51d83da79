import { vtUrlId } from '../src/enrichment/providers/virustotal';
import { startStandIn, type StandIn } from './stand-in';
import { CLEAN_IP, MALICIOUS_DOMAIN, MALICIOUS_IP, MALICIOUS_SHA256, MALICIOUS_URL } from './threat-intel-data';

const stats = (malicious: number, total: number) => ({ harmless: total - malicious - 10, malicious, suspicious: 0, undetected: 10, timeout: 0 });

const object = (type: string, id: string, attributes: Record<string, unknown>) => ({
  data: { id, type, links: { self: `https://www.virustotal.com/api/v3/${type}s/${id}` }, attributes },
});

const notFound = (what: string) => ({ status: 404, body: { error: { code: 'NotFoundError', message: `${what} not found` } } });

/** VirusTotal API v3 (objects as the v3 docs describe them); needs `x-apikey` like the real one. */
export async function startVirusTotal(options: { port?: number; apiKey?: string } = {}): Promise<StandIn> {
  const known: Record<string, Record<string, unknown>> = {
    [`ip_address:${MALICIOUS_IP}`]: object('ip_address', MALICIOUS_IP, { last_analysis_stats: stats(58, 90), reputation: -87, country: 'NL', asn: 64500, as_owner: 'Bulletproof Hosting BV' }),
    [`ip_address:${CLEAN_IP}`]: object('ip_address', CLEAN_IP, { last_analysis_stats: stats(0, 90), reputation: 0, country: 'US', asn: 64501, as_owner: 'Example ISP' }),
    [`domain:${MALICIOUS_DOMAIN}`]: object('domain', MALICIOUS_DOMAIN, { last_analysis_stats: stats(41, 90), reputation: -40 }),
    [`url:${vtUrlId(MALICIOUS_URL)}`]: object('url', vtUrlId(MALICIOUS_URL), { last_analysis_stats: stats(63, 90), reputation: -60 }),
    [`file:${MALICIOUS_SHA256}`]: object('file', MALICIOUS_SHA256, { last_analysis_stats: stats(66, 72), meaningful_name: 'stage2.exe', type_description: 'Win32 EXE' }),
  };
  const route = (path: string, type: string) => ({
    method: 'GET',
    path,
    handle: ({ params, headers }: { params: Record<string, string>; headers: Record<string, unknown> }) => {
      if (options.apiKey && headers['x-apikey'] !== options.apiKey) return { status: 401, body: { error: { code: 'WrongCredentialsError', message: 'Wrong API key' } } };
      const body = known[`${type}:${params.id}`] ?? known[`${type}:${params.id!.toLowerCase()}`];
      return body ? { status: 200, body } : notFound(`${type} "${params.id}"`);
    },
  });
  return startStandIn(
    'virustotal',
    [route('/api/v3/ip_addresses/:id', 'ip_address'), route('/api/v3/domains/:id', 'domain'), route('/api/v3/urls/:id', 'url'), route('/api/v3/files/:id', 'file')],
    options,
  );
}
