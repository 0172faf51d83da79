import { SENTINEL_API_VERSION } from '../sentinel/sentinel-client';
import { bearer, fail, httpStatus, NoAnswer, off, ok, probe, reason, type Check } from './check';

const NAME = 'Sentinel workspace';

/** The workspace's incidents list answers through ARM (`$top=1`): the workspace exists and the identity may read it. */
export const checkSentinel: Check = async (ctx) => {
  const s = ctx.config.sentinel;
  if (!ctx.credential && ctx.config.localMode && s.armEndpoint === 'https://management.azure.com') return [off(NAME, 'local mode without an Azure credential or ARM_ENDPOINT')];
  const workspace = `/subscriptions/${encodeURIComponent(s.subscriptionId)}/resourceGroups/${encodeURIComponent(s.resourceGroup)}/providers/Microsoft.OperationalInsights/workspaces/${encodeURIComponent(s.workspaceName)}`;
  try {
    const p = await probe(`${s.armEndpoint}${workspace}/providers/Microsoft.SecurityInsights/incidents?api-version=${SENTINEL_API_VERSION}&$top=1`, {
      timeoutMs: ctx.timeoutMs,
      headers: await bearer(ctx, `${s.armEndpoint}/.default`),
    });
    if (p.status === 200) return [ok(NAME, `${s.workspaceName} in ${s.resourceGroup} readable`)];
    if (p.status === 403) return [fail(NAME, `${httpStatus(p)}: the identity may not read incidents in ${s.workspaceName}; assign it Microsoft Sentinel Responder on the workspace`)];
    if (p.status === 404)
      return [
        fail(
          NAME,
          `${httpStatus(p)}: no Sentinel workspace ${s.workspaceName} in ${s.resourceGroup} (subscription ${s.subscriptionId}); check SENTINEL_SUBSCRIPTION_ID, SENTINEL_RESOURCE_GROUP and SENTINEL_WORKSPACE_NAME`,
        ),
      ];
    if (p.status === 401) return [fail(NAME, `${httpStatus(p)}: ARM refused the token; check AZURE_TENANT_ID`)];
    return [fail(NAME, `${httpStatus(p)} from ${s.armEndpoint}`)];
  } catch (e) {
    return [fail(NAME, `${e instanceof NoAnswer ? e.message : reason(e)} (ARM_ENDPOINT ${s.armEndpoint})`)];
  }
};
