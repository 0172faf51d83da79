import { defenderScope } from '../actions/executors/defender-client';
import { fail, httpStatus, NoAnswer, off, ok, probe, reason, type Check, type Outcome } from './check';
import { rolesOutcome } from './graph';

const NAME = 'Defender for Endpoint';

/** The machines list answers the identity's token, and the token carries the Defender app roles needed. */
export const checkDefender: Check = async (ctx) => {
  const endpoint = ctx.config.enrichment.device?.mdeEndpoint;
  if (!endpoint) return [off(NAME, 'off (no MDE_ENDPOINT or Azure credential)')];
  let token: string | undefined;
  try {
    token = (await ctx.credential?.getToken(defenderScope(endpoint)))?.token;
  } catch (e) {
    return [fail(NAME, `no token for ${defenderScope(endpoint)}: ${reason(e)}`)];
  }
  const lines: Outcome[] = [];
  try {
    const p = await probe(`${endpoint}/api/machines?$top=1`, { timeoutMs: ctx.timeoutMs, headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (p.status === 200) lines.push(ok(NAME, `${endpoint} answers the identity (lists machines)`));
    else if (p.status === 403) lines.push(fail(NAME, `${httpStatus(p)}: the identity may not list machines (Machine.Read.All); run npm run grant-permissions`));
    else if (p.status === 401) lines.push(fail(NAME, `${httpStatus(p)}: Defender refused the token; is Defender for Endpoint set up in this tenant, and MDE_ENDPOINT its API?`));
    else lines.push(fail(NAME, `${httpStatus(p)} from ${endpoint}`));
  } catch (e) {
    lines.push(fail(NAME, `${e instanceof NoAnswer ? e.message : reason(e)} (MDE_ENDPOINT ${endpoint})`));
  }
  lines.push(rolesOutcome('Defender app roles', 'defender', token, ctx));
  return lines;
};
