import crypto from 'node:crypto';
import { startStandIn, type StandIn } from './stand-in';

export interface ConnectorActivity {
  id: string;
  conversationId: string;
  /** Every version of the activity, oldest first: the post, then each update. */
  versions: Array<Record<string, unknown>>;
}

export interface BotConnectorStandIn extends StandIn {
  /** What the conversation shows now: each activity with its latest version. */
  conversation(conversationId: string): ConnectorActivity[];
  /**
   * Refuse any activity larger than `bytes` (measured as Teams does, see `messageSize`) with 413
   * `MessageSizeTooBig`; undefined goes back to Teams' own limit. `reset()` restores it too.
   */
  refuseLargerThan(bytes: number | undefined): void;
}

/** Teams' bot message limit: 100 KB of the whole payload "encoded as UTF-16" (format-your-bot-messages). */
export const TEAMS_MESSAGE_LIMIT_BYTES = 100 * 1024;

/** An activity's size as Teams counts it: its JSON in UTF-16, two bytes a code unit. */
export const messageSize = (activity: unknown): number => JSON.stringify(activity ?? null).length * 2;

const tooBig = (size: number, limit: number) => ({
  status: 413,
  body: { error: { code: 'MessageSizeTooBig', message: `Message size ${size} bytes exceeds the limit of ${limit} bytes` } },
});

/**
 * The Bot Connector REST API as Teams exposes it to a bot (`serviceUrl`): post to a conversation,
 * reply to an activity, update an activity in place, create a conversation. It keeps what a
 * client would show, so tests can assert on the card as a user would see it. Like Teams, it refuses
 * a message over 100 KB (UTF-16) with 413 `MessageSizeTooBig`; `refuseLargerThan` lowers that.
 */
export async function startBotConnector(options: { port?: number } = {}): Promise<BotConnectorStandIn> {
  const activities = new Map<string, ConnectorActivity>();
  let limit = TEAMS_MESSAGE_LIMIT_BYTES;
  const newId = () => `1:${crypto.randomBytes(8).toString('hex')}`;
  const post = (conversationId: string, body: unknown) => {
    if (messageSize(body) > limit) return tooBig(messageSize(body), limit);
    const id = newId();
    activities.set(id, { id, conversationId, versions: [body as Record<string, unknown>] });
    return { status: 201, body: { id } };
  };
  const standIn = await startStandIn(
    'bot-connector',
    [
      { method: 'POST', path: '/v3/conversations/:conversationId/activities', handle: ({ params, body }) => post(params.conversationId!, body) },
      { method: 'POST', path: '/v3/conversations/:conversationId/activities/:activityId', handle: ({ params, body }) => post(params.conversationId!, body) },
      {
        method: 'PUT',
        path: '/v3/conversations/:conversationId/activities/:activityId',
        handle: ({ params, body }) => {
          const existing = activities.get(params.activityId!);
          if (!existing || existing.conversationId !== params.conversationId) {
            return { status: 404, body: { error: { code: 'ActivityNotFoundInConversation', message: 'The activity was not found in the conversation' } } };
          }
          if (messageSize(body) > limit) return tooBig(messageSize(body), limit);
          existing.versions.push(body as Record<string, unknown>);
          return { status: 200, body: { id: existing.id } };
        },
      },
      {
        method: 'POST',
        path: '/v3/conversations',
        handle: () => ({ status: 201, body: { id: `a:${crypto.randomBytes(12).toString('hex')}`, activityId: newId() } }),
      },
    ],
    options,
  );
  const reset = standIn.reset;
  return {
    ...standIn,
    reset() {
      reset();
      activities.clear();
      limit = TEAMS_MESSAGE_LIMIT_BYTES;
    },
    refuseLargerThan(bytes) {
      limit = bytes ?? TEAMS_MESSAGE_LIMIT_BYTES;
    },
    conversation: (conversationId) => [...activities.values()].filter((a) => a.conversationId === conversationId),
  };
}
