import type { BatchRequest, GraphClient } from '../../graph/graph-client';
import { createTtlCache } from '../ttl-cache';
import { reasonOf } from '../../http/upstream-error';
import type { SourceResult } from '../types';
import type { EnrichmentProvider } from '../orchestrator';
import { isGuid, isUserId } from '../../ids';

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

/** The longest in-batch `Retry-After` waited before asking the throttled requests again. */
const RETRY_THROTTLED_MS = 1000;

/**
 * Who the account is, from Microsoft Graph: name, job, department, enabled, manager, directory
 * roles (privileged or not) and Identity Protection risk. The user id goes into the path only
 * after it matched a GUID or a UPN, and encoded.
 */
export function createGraphUser(o: { graph: GraphClient; cacheTtlMs: number }): EnrichmentProvider {
  const cache = createTtlCache<SourceResult>(o.cacheTtlMs);
  const name = 'Entra ID';
  /**
   * One `$batch`; the requests Graph throttled inside it (429 with a short `Retry-After`) are asked
   * again once, alone, after the wait Graph named. A long wait leaves the 429 as the answer.
   */
  const batchWithRetry = async (requests: BatchRequest[]) => {
    const answers = await o.graph.batch(requests);
    const throttled = requests.filter((r) => answers.get(r.id)?.status === 429);
    const waits = throttled.map((r) => {
      const a = answers.get(r.id)!;
      return a.ok ? 0 : (a.error.retryAfterMs ?? RETRY_THROTTLED_MS);
    });
    if (throttled.length === 0 || Math.max(...waits) > RETRY_THROTTLED_MS) return answers;
    await new Promise((resolve) => setTimeout(resolve, Math.max(...waits)));
    for (const [key, answer] of await o.graph.batch(throttled)) answers.set(key, answer);
    return answers;
  };
  const lookup = async (id: string): Promise<SourceResult> => {
    const at = new Date().toISOString();
    try {
      // One round trip: the user, manager, roles and risk addressed by the same UPN or object id.
      const uid = encodeURIComponent(id);
      const answers = await batchWithRetry([
        { id: 'user', url: `/users/${uid}?$select=id,displayName,userPrincipalName,jobTitle,department,accountEnabled` },
        { id: 'manager', url: `/users/${uid}/manager?$select=displayName` },
        { id: 'roles', url: `/users/${uid}/memberOf/microsoft.graph.directoryRole?$select=displayName,roleTemplateId` },
        // riskyUsers is keyed by object id only: a UPN is looked up by filter, in the same batch.
        {
          id: 'risk',
          url: isGuid(id) ? `/identityProtection/riskyUsers/${uid}` : `/identityProtection/riskyUsers?$filter=${encodeURIComponent(`userPrincipalName eq '${id.replace(/'/g, "''")}'`)}`,
        },
      ]);
      /** A part's body; undefined for its 404 (no manager, no risk record); its own error otherwise. */
      const part = <T>(key: string): T | undefined => {
        const a = answers.get(key)!;
        if (a.ok) return a.body as T | undefined;
        if (a.status === 404) return undefined;
        throw a.error;
      };
      const user = part<GraphUser>('user');
      if (!user) return { status: 'ok', source: name, facts: { found: false }, at };
      const manager = part<{ displayName?: string }>('manager');
      const roles = part<{ value: Array<{ displayName?: string; roleTemplateId?: string }> }>('roles');
      const riskAnswer = part<{ riskLevel?: string; value?: Array<{ riskLevel?: string }> }>('risk');
      const risk = riskAnswer?.value ? riskAnswer.value[0] : riskAnswer;
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
    supports: (i) => i.kind === 'account' && isUserId(i.value),
    lookup: (i) =>
      cache.get(
        i.value.toLowerCase(),
        () => lookup(i.value),
        (r) => r.status === 'ok',
      ),
  };
}
