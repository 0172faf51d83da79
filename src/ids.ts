/**
 * The identifier shapes Vigil checks before an id reaches a path, a query or the store. One place,
 * so that the webhook, the commands, the executors and the enrichers agree on what an object id,
 * a UPN or an ARM id is.
 */

const GUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/**
 * A user principal name: no white space, and none of `@ \ / ? #`, so that it is safe in a Graph
 * path once encoded; Entra's 113 characters before the `@`, and a domain with at least one dot
 * (every verified domain and `*.onmicrosoft.com` has one).
 */
const UPN_SOURCE = '[^\\s@\\\\/?#]{1,113}@(?=[^\\s@\\\\/?#]{3,255}$)[^\\s@\\\\/?#.]+(?:\\.[^\\s@\\\\/?#.]+)+';

const GUID = new RegExp(`^${GUID_SOURCE}$`, 'i');
const UPN = new RegExp(`^${UPN_SOURCE}$`, 'i');
/** A subscription id, then a resource group as ARM allows it: the prefix of every resource id Vigil accepts. */
const ARM_RESOURCE_GROUP_SOURCE = '/subscriptions/[0-9a-f-]{36}/resourceGroups/[\\w.()-]{1,90}/providers/';
const armId = (rest: string) => new RegExp(`^${ARM_RESOURCE_GROUP_SOURCE}${rest}$`, 'i');
const VM_RESOURCE_ID = armId('Microsoft\\.Compute/virtualMachines/[\\w.-]{1,64}');
const NSG_RESOURCE_ID = armId('Microsoft\\.Network/networkSecurityGroups/[\\w.-]{1,80}');
const INCIDENT_RESOURCE_ID = armId('Microsoft\\.OperationalInsights/workspaces/[\\w-]{1,63}/providers/Microsoft\\.SecurityInsights/incidents/[\\w-]{1,128}');
/** A host name as an analyst or Sentinel gives it (not yet a DNS name Vigil resolves). */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const SHA1_OR_SHA256 = /^(?:[a-f0-9]{40}|[a-f0-9]{64})$/i;

/** An Entra object id, tenant id, app id or any other GUID, in any case. */
export const isGuid = (s: string): boolean => GUID.test(s);
/** A user principal name Graph can be asked about (see `UPN_SOURCE` for the shape). */
export const isUpn = (s: string): boolean => UPN.test(s);
/** How a user is named to Graph: an object id or a UPN. */
export const isUserId = (s: string): boolean => isGuid(s) || isUpn(s);

export const isVmResourceId = (s: string): boolean => VM_RESOURCE_ID.test(s);
export const isNsgResourceId = (s: string): boolean => NSG_RESOURCE_ID.test(s);
/** `/subscriptions/…/workspaces/…/providers/Microsoft.SecurityInsights/incidents/<id>`, safe characters only. */
export const isIncidentResourceId = (s: string): boolean => INCIDENT_RESOURCE_ID.test(s);

export const isHostName = (s: string): boolean => HOST_NAME.test(s);
/** The file hashes Defender can block: SHA-1 or SHA-256, in hex. */
export const isSha1OrSha256 = (s: string): boolean => SHA1_OR_SHA256.test(s);

const THREAD_MARK = ';messageid=';
/** A channel thread's conversation id (`19:…;messageid=…`) without the thread: the channel. */
export const channelOfConversation = (conversationId: string): string => conversationId.split(THREAD_MARK)[0]!;
/** The conversation id that replies in the thread of a channel message. */
export const threadOf = (channelId: string, activityId: string): string => `${channelId}${THREAD_MARK}${activityId}`;
