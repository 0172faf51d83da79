import type { GraphClient } from '../graph/graph-client';
import { RESOURCE_APPS, type RequiredRole, type ResourceApi, COVERED_BY } from './required-permissions';

interface AppRole {
  id: string;
  value: string | null;
  allowedMemberTypes?: string[];
  isEnabled?: boolean;
}
interface ServicePrincipal {
  id: string;
  appId: string;
  displayName?: string;
  servicePrincipalType?: string;
  appRoles?: AppRole[];
}
interface AppRoleAssignment {
  appRoleId: string;
  resourceId: string;
}

export interface PlannedGrant {
  api: ResourceApi;
  role: string;
  body: { principalId: string; resourceId: string; appRoleId: string };
  neededBy: RequiredRole['neededBy'];
}

export interface GrantPlan {
  principal: { id: string; displayName?: string; type?: string };
  /** Required roles the identity holds already (or a broader role that covers them: `heldAs`). */
  present: Array<{ api: ResourceApi; role: string; heldAs: string }>;
  missing: PlannedGrant[];
}

/** Refused before anything is written: the identity, a resource or a role is not in the tenant. */
export class GrantError extends Error {
  override name = 'GrantError';
}

/** Every page of a Graph collection, following `@odata.nextLink`. */
async function listAll<T>(graph: GraphClient, path: string): Promise<T[] | undefined> {
  const items: T[] = [];
  let next: string | undefined = path;
  while (next) {
    const page: { value?: T[]; '@odata.nextLink'?: string } | undefined = await graph.get(next);
    if (!page) return items.length === 0 ? undefined : items;
    items.push(...(page.value ?? []));
    next = page['@odata.nextLink'];
  }
  return items;
}

/**
 * Reads what the identity holds and works out the app role assignments still missing for
 * `required`: the resource service principals by their well-known app ids, role names to ids from
 * their `appRoles`, and the identity's `appRoleAssignments`. Reads only; throws `GrantError` when
 * the identity, a resource or a role cannot be found, so nothing is half-granted.
 */
export async function planGrants(graph: GraphClient, principalId: string, required: RequiredRole[]): Promise<GrantPlan> {
  const principal = await graph.get<ServicePrincipal>(`/servicePrincipals/${encodeURIComponent(principalId)}?$select=id,appId,displayName,servicePrincipalType`);
  if (!principal) throw new GrantError(`no service principal with object id ${principalId} in this tenant: give the managed identity's principal (object) id, not its client id`);
  const assignments = (await listAll<AppRoleAssignment>(graph, `/servicePrincipals/${encodeURIComponent(principalId)}/appRoleAssignments`)) ?? [];
  const plan: GrantPlan = { principal: { id: principal.id, displayName: principal.displayName, type: principal.servicePrincipalType }, present: [], missing: [] };
  for (const api of Object.keys(RESOURCE_APPS) as ResourceApi[]) {
    const needed = required.filter((r) => r.api === api);
    if (needed.length === 0) continue;
    const { appId, name } = RESOURCE_APPS[api];
    const found = await graph.get<{ value: ServicePrincipal[] }>(`/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${appId}'`)}&$select=id,appId,displayName,appRoles`);
    const resource = found?.value[0];
    if (!resource)
      throw new GrantError(
        `the ${name} service principal (appId ${appId}) is not in this tenant${api === 'defender' ? ': Defender for Endpoint is not set up here, or MDE_ENDPOINT is set by mistake' : ''}`,
      );
    const roles = (resource.appRoles ?? []).filter((r) => r.value && r.isEnabled !== false && (r.allowedMemberTypes ?? []).includes('Application'));
    const held = assignments
      .filter((a) => a.resourceId === resource.id)
      .map((a) => roles.find((r) => r.id === a.appRoleId)?.value)
      .filter((v): v is string => Boolean(v));
    const unknown = needed.filter((n) => !roles.some((r) => r.value === n.role));
    if (unknown.length > 0) throw new GrantError(`${name} publishes no application role ${unknown.map((u) => u.role).join(', ')}`);
    for (const need of needed) {
      const heldAs = held.find((h) => h === need.role) ?? held.find((h) => (COVERED_BY[`${api}:${need.role}`] ?? []).includes(h));
      if (heldAs) {
        plan.present.push({ api, role: need.role, heldAs });
        continue;
      }
      plan.missing.push({ api, role: need.role, neededBy: need.neededBy, body: { principalId: principal.id, resourceId: resource.id, appRoleId: roles.find((r) => r.value === need.role)!.id } });
    }
  }
  return plan;
}

/** Creates the missing assignments one by one (`POST /servicePrincipals/{id}/appRoleAssignments`). */
export async function applyGrants(graph: GraphClient, plan: GrantPlan, onGranted: (g: PlannedGrant) => void): Promise<void> {
  for (const grant of plan.missing) {
    await graph.postAction(`/servicePrincipals/${encodeURIComponent(plan.principal.id)}/appRoleAssignments`, grant.body);
    onGranted(grant);
  }
}

/** The `az rest` command that makes one grant, for an administrator who would rather run it by hand. */
export const azRestCommand = (graphBaseUrl: string, grant: PlannedGrant): string =>
  `az rest --method POST --uri '${graphBaseUrl}/v1.0/servicePrincipals/${grant.body.principalId}/appRoleAssignments' --headers 'Content-Type=application/json' --body '${JSON.stringify(grant.body)}'`;
