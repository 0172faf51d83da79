import type { Activity } from 'botbuilder';
import { createHttpClient, type TokenSource } from '../http/http-client';
import { NO_RETRY } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';

export const BOT_CONNECTOR = 'Bot Connector';

export type TokenProvider = TokenSource;

/** Teams refused the message as too large (413 `MessageSizeTooBig`): the same activity will never go through. */
export const isTooLarge = (e: unknown): boolean => e instanceof UpstreamError && (e.status === 413 || e.code === 'MessageSizeTooBig');

export interface ConnectorClient {
  sendToConversation(serviceUrl: string, conversationId: string, activity: Partial<Activity>): Promise<{ id: string }>;
  updateActivity(serviceUrl: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<void>;
  /** Opens (or finds) the 1:1 chat between the bot and a Teams user. */
  createPersonalConversation(serviceUrl: string, o: { botId: string; userTeamsId: string; tenantId?: string }): Promise<{ id: string }>;
}

/**
 * The Bot Connector's REST calls for proactive sends and in-place updates, through the one HTTP
 * client with no retry of its own: the outbox decides when to try again (its pacing and back-off
 * live in the store), so a failure comes back at once as an `UpstreamError` with the status, the
 * connector's `error.code` and `Retry-After`. With no token provider (local mode) requests carry
 * no Authorization header. Every service URL differs, so requests are absolute URLs.
 */
export function createConnectorClient(options: { timeoutMs: number; token?: TokenProvider }): ConnectorClient {
  const http = createHttpClient({ upstream: BOT_CONNECTOR, timeoutMs: options.timeoutMs, token: options.token, retry: NO_RETRY });
  const call = async (method: 'POST' | 'PUT', serviceUrl: string, path: string, body: unknown) =>
    (await http.request<{ id?: string }>({ method, path: `${serviceUrl.replace(/\/+$/, '')}${path}`, body })).body ?? {};
  const conversationPath = (id: string) => `/v3/conversations/${encodeURIComponent(id)}/activities`;

  return {
    async sendToConversation(serviceUrl, conversationId, activity) {
      const body = await call('POST', serviceUrl, conversationPath(conversationId), activity);
      if (!body.id) throw new UpstreamError(BOT_CONNECTOR, 502, 'Bot Connector accepted the activity but returned no id');
      return { id: body.id };
    },
    async updateActivity(serviceUrl, conversationId, activityId, activity) {
      await call('PUT', serviceUrl, `${conversationPath(conversationId)}/${encodeURIComponent(activityId)}`, { ...activity, id: activityId });
    },
    async createPersonalConversation(serviceUrl, o) {
      const body = await call('POST', serviceUrl, '/v3/conversations', {
        bot: { id: o.botId },
        members: [{ id: o.userTeamsId }],
        isGroup: false,
        tenantId: o.tenantId,
        channelData: o.tenantId ? { tenant: { id: o.tenantId } } : undefined,
      });
      if (!body.id) throw new UpstreamError(BOT_CONNECTOR, 502, 'Bot Connector created the conversation but returned no id');
      return { id: body.id };
    },
  };
}
