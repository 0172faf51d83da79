import { fail, httpStatus, NoAnswer, off, ok, probe, reason, type Check } from './check';

const NAME = 'AbuseIPDB';

/** One authenticated check of a documentation address: the key is accepted. */
export const checkAbuseIpDb: Check = async ({ config, timeoutMs }) => {
  const a = config.enrichment.abuseipdb;
  if (!a) return [off(NAME, 'off (no ABUSEIPDB_API_KEY)')];
  try {
    const p = await probe(`${a.baseUrl}/api/v2/check?ipAddress=192.0.2.1&maxAgeInDays=1`, { timeoutMs, headers: { key: a.apiKey } });
    if (p.status === 200) return [ok(NAME, 'API key accepted (one check of the daily quota)')];
    if (p.status === 401 || p.status === 403)
      return [fail(NAME, `HTTP ${p.status}: AbuseIPDB refuses ABUSEIPDB_API_KEY (missing, incorrect or revoked); create a key under your AbuseIPDB account's API tab`)];
    if (p.status === 429) return [fail(NAME, `HTTP 429: the key's daily quota is used up`)];
    return [fail(NAME, `${httpStatus(p)} from ${a.baseUrl}`)];
  } catch (e) {
    return [fail(NAME, `${e instanceof NoAnswer ? e.message : reason(e)} (ABUSEIPDB_ENDPOINT ${a.baseUrl})`)];
  }
};
