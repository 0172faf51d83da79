import { startAbuseIpDb } from '../../sandbox/abuseipdb';
import type { StandIn } from '../../sandbox/stand-in';
import { CLEAN_IP, MALICIOUS_IP, MALICIOUS_SHA256, MALICIOUS_URL } from '../../sandbox/threat-intel-data';
import { startVirusTotal } from '../../sandbox/virustotal';
import { createAbuseIpDb } from '../../src/enrichment/providers/abuseipdb';
import { createVirusTotal, vtUrlId } from '../../src/enrichment/providers/virustotal';

const VT_KEY = 'vt-key-abc123';
const ABUSE_KEY = 'abuse-key-xyz789';

describe('VirusTotal', () => {
  let vt: StandIn;
  beforeAll(async () => {
    vt = await startVirusTotal({ apiKey: VT_KEY });
  });
  afterAll(() => vt.close());
  beforeEach(() => vt.reset());
  const provider = (timeoutMs = 2000) => createVirusTotal({ baseUrl: vt.url, apiKey: VT_KEY, timeoutMs, cacheTtlMs: 60_000, perMinute: 1000 });

  it('scores an IP as malicious ÷ all engines, with its key and no token', async () => {
    const r = await provider().lookup({ kind: 'ip', value: MALICIOUS_IP });
    expect(r).toMatchObject({ status: 'ok', source: 'VirusTotal', facts: { malicious: '58/90', country: 'NL', AS: 'AS64500 Bulletproof Hosting BV' } });
    expect(r.status === 'ok' && r.score).toBeCloseTo((58 / 90) * 100);
    const [req] = vt.requests('GET', '/api/v3/ip_addresses/:ip');
    expect(req!.headers['x-apikey']).toBe(VT_KEY);
    expect(req!.headers.authorization).toBeUndefined();
  });

  it('looks URLs up by their unpadded base64url id, and hashes by hash', async () => {
    const p = provider();
    expect(await p.lookup({ kind: 'url', value: MALICIOUS_URL })).toMatchObject({ status: 'ok', facts: { malicious: '63/90' } });
    expect(vt.requests('GET')[0]!.path).toBe(`/api/v3/urls/${vtUrlId(MALICIOUS_URL)}`);
    expect(vtUrlId(MALICIOUS_URL)).not.toMatch(/[=+/]/);
    expect(await p.lookup({ kind: 'hash', value: MALICIOUS_SHA256 })).toMatchObject({ status: 'ok', facts: { malicious: '66/72', name: 'stage2.exe' } });
    expect(p.supports({ kind: 'account', value: 'x@y.z' })).toBe(false);
  });

  it('says "not seen" for an unknown indicator, without a score', async () => {
    const r = await provider().lookup({ kind: 'ip', value: '192.0.2.200' });
    expect(r).toEqual({ status: 'ok', source: 'VirusTotal', facts: { seen: false }, at: expect.any(String) });
  });

  it('reports throttling and timeouts as unavailable, naming the upstream and never the key', async () => {
    vt.set({ throttle: { count: 1, retryAfterSeconds: 30 } });
    const throttled = await provider().lookup({ kind: 'ip', value: CLEAN_IP });
    expect(throttled).toMatchObject({ status: 'unavailable', reason: 'VirusTotal answered 429 TooManyRequests: virustotal stand-in is throttling (retry after 30 s)' });
    expect(JSON.stringify(throttled)).not.toContain(VT_KEY);
    vt.set({ hang: true });
    expect(await provider(50).lookup({ kind: 'ip', value: CLEAN_IP })).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/did not answer within 50 ms$/) });
  });

  it('asks once for an indicator seen twice, even at the same moment', async () => {
    const p = provider();
    await Promise.all([p.lookup({ kind: 'ip', value: MALICIOUS_IP }), p.lookup({ kind: 'ip', value: MALICIOUS_IP })]);
    await p.lookup({ kind: 'ip', value: MALICIOUS_IP });
    expect(vt.requests('GET')).toHaveLength(1);
  });
});

describe('AbuseIPDB', () => {
  let abuse: StandIn;
  beforeAll(async () => {
    abuse = await startAbuseIpDb({ apiKey: ABUSE_KEY });
  });
  afterAll(() => abuse.close());
  beforeEach(() => abuse.reset());
  const provider = (timeoutMs = 2000) => createAbuseIpDb({ baseUrl: abuse.url, apiKey: ABUSE_KEY, timeoutMs, cacheTtlMs: 60_000 });

  it('scores an IP by its abuse confidence', async () => {
    const r = await provider().lookup({ kind: 'ip', value: MALICIOUS_IP });
    expect(r).toMatchObject({ status: 'ok', source: 'AbuseIPDB', score: 100, facts: { confidence: '100%', reports: 1234, country: 'NL', usage: 'Data Center/Web Hosting/Transit' } });
    const [req] = abuse.requests('GET', '/api/v2/check');
    expect(req!.query).toEqual({ ipAddress: MALICIOUS_IP, maxAgeInDays: '90' });
    expect(req!.headers.key).toBe(ABUSE_KEY);
    expect(await provider().lookup({ kind: 'ip', value: CLEAN_IP })).toMatchObject({ score: 0 });
  });

  it('is unavailable with a wrong key, and only handles IPs', async () => {
    const wrong = createAbuseIpDb({ baseUrl: abuse.url, apiKey: 'nope', timeoutMs: 2000, cacheTtlMs: 0 });
    expect(await wrong.lookup({ kind: 'ip', value: CLEAN_IP })).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^AbuseIPDB answered 401/) });
    expect(provider().supports({ kind: 'domain', value: 'x.example' })).toBe(false);
  });

  it('does not keep a failure in the cache', async () => {
    abuse.set({ fail: { count: 100, status: 503 } });
    const p = provider();
    expect((await p.lookup({ kind: 'ip', value: MALICIOUS_IP })).status).toBe('unavailable');
    abuse.reset();
    expect((await p.lookup({ kind: 'ip', value: MALICIOUS_IP })).status).toBe('ok');
  });

  it('tries a passing 503 again within the look-up budget', async () => {
    abuse.set({ fail: { count: 1, status: 503 } });
    expect((await provider().lookup({ kind: 'ip', value: MALICIOUS_IP })).status).toBe('ok');
    expect(abuse.requests('GET', '/api/v2/check')).toHaveLength(2);
  });
});
