import type { GraphClient } from '../../graph/graph-client';
import { createTtlCache } from '../ttl-cache';
import { reasonOf } from '../upstream';
import type { SourceResult } from '../types';
import type { EnrichmentProvider } from '../orchestrator';

/** Entra ID roles whose holders can take over the tenant or its security controls. */
export const PRIVILEGED_ROLE_TEMPLATES: Record<string, string> = {
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13': 'Privileged Authentication Administrator',
  '194ae4cb-b126-40b2-bd5b-6091b380977d': 'Security Administrator',
  'fe930be7-5e62-47db-91af-98c3a49a38b1': 'User Administrator',
  '29232cdf-9323-42fd-ade2-1d097af3e4de': 'Exchange Administrator',
  'f28a1f50-f6e7-4571-818b-6a12f2af6b6c': 'SharePoint Administrator',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3': 'Application Administrator',
  '158c047a-c907-4556-b7ef-446551a6b5f7': 'Cloud Application Administrator',
  'b1be1c3e-b65d-4f19-8427-f6fa0d97feb9': 'Conditional Access Administrator',
};

interface GraphUser {
  id: string;
  displayName?: string | null;
  userPrincipalName?: string | null;
  jobTitle?: string | null;
  department?: string | null;
  accountEnabled?: boolean | null;
}

const USER_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[^\s/?#@]{1,113}@[^\s/?#@]{1,255})$/i;

/**
 * Who the account is, from Microsoft Graph: name, job, department, enabled, manager, directory
 * roles (privileged or not) and Identity Protection risk. The user id goes into the path only
 * after it matched a GUID or a UPN, and encoded.
 */
export function createGraphUser(o: { graph: GraphClient; cacheTtlMs: number }): EnrichmentProvider {
  const cache = createTtlCache<SourceResult>(o.cacheTtlMs);
  const name = 'Entra ID';
  const lookup = async (id: string): Promise<SourceResult> => {
    const at = new Date().toISOString();
    try {
      const user = await o.graph.get<GraphUser>(`/users/${encodeURIComponent(id)}?$select=id,displayName,userPrincipalName,jobTitle,department,accountEnabled`);
      if (!user) return { status: 'ok', source: name, facts: { found: false }, at };
      const uid = encodeURIComponent(user.id);
      const [manager, roles, risk] = await Promise.all([
        o.graph.get<{ displayName?: string }>(`/users/${uid}/manager?$select=displayName`),
        o.graph.get<{ value: Array<{ displayName?: string; roleTemplateId?: string }> }>(`/users/${uid}/memberOf/microsoft.graph.directoryRole?$select=displayName,roleTemplateId`),
        o.graph.get<{ riskLevel?: string }>(`/identityProtection/riskyUsers/${uid}`),
      ]);
      const roleNames = (roles?.value ?? []).map((r) => r.displayName ?? PRIVILEGED_ROLE_TEMPLATES[r.roleTemplateId ?? ''] ?? 'role');
      const privileged = (roles?.value ?? []).some((r) => r.roleTemplateId !== undefined && r.roleTemplateId in PRIVILEGED_ROLE_TEMPLATES);
      return {
        status: 'ok',
        source: name,
        facts: {
          name: user.displayName ?? null,
          title: user.jobTitle ?? null,
          department: user.department ?? null,
          enabled: user.accountEnabled ?? null,
          manager: manager?.displayName ?? null,
          roles: roleNames.length > 0 ? roleNames.join(', ') : null,
          privileged,
          risk: risk?.riskLevel ?? 'none',
        },
        at,
      };
    } catch (e) {
      return { status: 'unavailable', source: name, reason: reasonOf(e), at };
    }
  };
  return {
    name,
    supports: (i) => i.kind === 'account' && USER_ID.test(i.value),
    lookup: (i) => cache.get(i.value.toLowerCase(), () => lookup(i.value), (r) => r.status === 'ok'),
  };
}
