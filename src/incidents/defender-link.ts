import { isGuid } from '../ids';

/** Where the Defender portal lives: the commercial cloud, GCC High and DoD. */
export const DEFENDER_HOSTS = new Set(['security.microsoft.com', 'security.microsoft.us', 'security.apps.mil']);

/** A Defender XDR incident id: a number written as a string ("2972395"), as Graph and `providerIncidentId` give it. */
export const XDR_INCIDENT_ID = /^[1-9]\d{0,14}$/;

/**
 * The Defender portal's page of one incident, rebuilt from a link the payload gave
 * (`providerIncidentUrl`, `incidentWebUrl`), or undefined when the link is anything else: https
 * only, a Defender host, no port or credentials, the path `/incidents/<id>` (of `id` when given),
 * and of the query only a `tid` that is a GUID. The payload is the attacker's: nothing of it
 * reaches the card but the host picked from our list, the digits and the GUID.
 */
export function defenderIncidentLink(given: unknown, id?: string, tenantId?: string): string | undefined {
  if (typeof given !== 'string' || !URL.canParse(given)) return undefined;
  const u = new URL(given);
  const m = /^\/incidents\/(\d{1,15})\/?$/.exec(u.pathname);
  if (u.protocol !== 'https:' || !DEFENDER_HOSTS.has(u.hostname) || u.port !== '' || u.username !== '' || u.password !== '' || !m || !XDR_INCIDENT_ID.test(m[1]!)) return undefined;
  if (id !== undefined && m[1] !== id) return undefined;
  const tid = [u.searchParams.get('tid'), tenantId].find((t) => t && isGuid(t));
  return `https://${u.hostname}/incidents/${m[1]}${tid ? `?tid=${tid.toLowerCase()}` : ''}`;
}
