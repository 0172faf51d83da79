import { isTimeout } from '../timeout';
import type { Activity } from 'botbuilder';

/** A Bot Connector answer that was not 2xx, or no answer at all (`status` 0). */
export class ConnectorError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
    /** The connector's own error code (`error.code` in its body), e.g. `MessageSizeTooBig`. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }

  /** Teams refused the message as too large (413 `MessageSizeTooBig`): the same activity will never go through. */
  get tooLarge(): boolean {
    return this.status === 413 || this.code === 'MessageSizeTooBig';
  }
}

const errorCodeIn = (text: string): string | undefined => {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } })?.error?.code;
    return typeof code === 'string' ? code.slice(0, 80) : undefined;
  } catch {
    return undefined;
  }
};

export type TokenProvider = () => Promise<string | undefined>;

export interface ConnectorClient {
  sendToConversation(serviceUrl: string, conversationId: string, activity: Partial<Activity>): Promise<{ id: string }>;
  updateActivity(serviceUrl: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<void>;
  /** Opens (or finds) the 1:1 chat between the bot and a Teams user. */
  createPersonalConversation(serviceUrl: string, o: { botId: string; userTeamsId: string; tenantId?: string }): Promise<{ id: string }>;
}

/** `Retry-After` is seconds (possibly fractional) or an HTTP date. */
export const parseRetryAfter = (value: string | null, now = Date.now()): number | undefined => {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

/**
 * The Bot Connector's REST calls for proactive sends and in-place updates, over fetch so that
 * Vigil owns timeouts and retries (the outbox decides when to try again, not a hidden policy).
 * With no token provider (local mode) requests carry no Authorization header.
 */
export function createConnectorClient(options: { timeoutMs: number; token?: TokenProvider }): ConnectorClient {
  const call = async (method: 'POST' | 'PUT', serviceUrl: string, path: string, activity: unknown) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = await options.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const url = `${serviceUrl.replace(/\/+$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: JSON.stringify(activity), signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (e) {
      const timedOut = isTimeout(e);
      throw new ConnectorError(0, timedOut ? `Bot Connector did not answer within ${options.timeoutMs} ms` : `Bot Connector unreachable: ${String((e as { message?: unknown })?.message ?? e)}`);
    }
    const text = await res.text();
    if (!res.ok) {
      throw new ConnectorError(res.status, `Bot Connector answered ${res.status}: ${text.slice(0, 200)}`, parseRetryAfter(res.headers.get('retry-after')), errorCodeIn(text));
    }
    return text === '' ? {} : (JSON.parse(text) as { id?: string });
  };
  const conversationPath = (id: string) => `/v3/conversations/${encodeURIComponent(id)}/activities`;

  return {
    async sendToConversation(serviceUrl, conversationId, activity) {
      const body = await call('POST', serviceUrl, conversationPath(conversationId), activity);
      if (!body.id) throw new ConnectorError(502, 'Bot Connector accepted the activity but returned no id');
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
      if (!body.id) throw new ConnectorError(502, 'Bot Connector created the conversation but returned no id');
      return { id: body.id };
    },
  };
}
