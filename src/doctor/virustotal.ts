import { fail, httpStatus, NoAnswer, off, ok, probe, reason, type Check } from './check';

const NAME = 'VirusTotal';
/** A documentation address (RFC 5737): one look-up of the quota, for nobody's real address. */
const PROBE_IP = '192.0.2.1';

/** One authenticated look-up: the key is accepted (VirusTotal answers 401 WrongCredentialsError otherwise). */
export const checkVirusTotal: Check = async ({ config, timeoutMs }) => {
  const vt = config.enrichment.virustotal;
  if (!vt) return [off(NAME, 'off (no VIRUSTOTAL_API_KEY)')];
  try {
    const p = await probe(`${vt.baseUrl}/api/v3/ip_addresses/${PROBE_IP}`, { timeoutMs, headers: { 'x-apikey': vt.apiKey } });
    if (p.status === 200 || p.status === 404) return [ok(NAME, `API key accepted (one look-up of the ${vt.perMinute}/min quota)`)];
    if (p.status === 401 || p.status === 403) return [fail(NAME, `${httpStatus(p)}: VirusTotal refuses VIRUSTOTAL_API_KEY; copy the key from your VirusTotal profile (API key)`)];
    if (p.status === 429) return [fail(NAME, `${httpStatus(p)}: the key's quota is used up for now; lower VIRUSTOTAL_PER_MINUTE to what the key allows`)];
    return [fail(NAME, `${httpStatus(p)} from ${vt.baseUrl}`)];
  } catch (e) {
    return [fail(NAME, `${e instanceof NoAnswer ? e.message : reason(e)} (VIRUSTOTAL_ENDPOINT ${vt.baseUrl})`)];
  }
};
