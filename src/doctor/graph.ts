import { missingRoles } from '../deploy/required-permissions';
import { errorCode, fail, httpStatus, NoAnswer, off, ok, probe, reason, tokenClaims, type Check, type Outcome } from './check';

const NAME = 'Microsoft Graph';
const ROLES = 'Graph app roles';
const GRANT = 'npm run grant-permissions -- --principal-id';

/**
 * Graph answers with the identity's token, and the token's `roles` claim holds every application
 * role the enabled features need (`required-permissions`). The token is decoded, not verified: it
 * is Entra ID's own answer, fetched just now.
 */
export const checkGraph: Check = async (ctx) => {
  const graph = ctx.config.enrichment.graph;
  if (!graph) return [off(NAME, 'off (no Azure credential or GRAPH_ENDPOINT)')];
  const scope = `${new URL(graph.baseUrl).origin}/.default`;
  let token: string | undefined;
  try {
    token = (await ctx.credential?.getToken(scope))?.token;
  } catch (e) {
    return [fail(NAME, `no token for ${scope}: ${reason(e)}`)];
  }
  const lines: Outcome[] = [];
  try {
    const p = await probe(`${graph.baseUrl}/v1.0/users?$top=1&$select=id`, { timeoutMs: ctx.timeoutMs, headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (p.status === 200) lines.push(ok(NAME, `${graph.baseUrl} answers the identity (reads users)`));
    else if (p.status === 403) lines.push(fail(NAME, `${httpStatus(p)}: the identity may not read users (User.Read.All); run ${GRANT} <object id>`));
    else if (p.status === 401)
      lines.push(fail(NAME, `${httpStatus(p)}: Graph refused the token${errorCode(p.json) ? '' : ''}; check AZURE_TENANT_ID and that GRAPH_ENDPOINT is the Graph of this cloud`));
    else lines.push(fail(NAME, `${httpStatus(p)} from ${graph.baseUrl}`));
  } catch (e) {
    lines.push(fail(NAME, `${e instanceof NoAnswer ? e.message : reason(e)} (GRAPH_ENDPOINT ${graph.baseUrl})`));
  }
  lines.push(rolesOutcome(ROLES, 'graph', token, ctx));
  return lines;
};

/** The roles line for one API: what the token holds against what the enabled features need. */
export function rolesOutcome(name: string, api: 'graph' | 'defender', token: string | undefined, ctx: Parameters<Check>[0]): Outcome {
  const needed = ctx.required.filter((r) => r.api === api);
  if (!token) return off(name, 'no Azure credential: requests carry no token (sandbox), so there are no roles to check');
  if (needed.length === 0) return ok(name, 'no enabled feature needs one');
  const claims = tokenClaims(token);
  const missing = missingRoles(ctx.required, api, claims.roles ?? []);
  if (missing.length === 0) return ok(name, `${needed.map((r) => r.role).join(', ')}: all the enabled features need`);
  const list = missing.map((m) => `${m.role} (${m.neededBy.map((n) => n.feature).join(', ')})`).join('; ');
  return fail(name, `missing ${list}; run ${GRANT} ${claims.oid ?? '<object id>'}, then restart Vigil (tokens carry the roles granted when they were issued)`);
}
