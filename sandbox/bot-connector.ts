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
}

/**
 * The Bot Connector REST API as Teams exposes it to a bot (`serviceUrl`): post to a conversation,
 * reply to an activity, update an activity in place, create a conversation. It keeps what a
 * client would show, so tests can assert on the card as a user would see it.
 */
export async function startBotConnector(options: { port?: number } = {}): Promise<BotConnectorStandIn> {
  const activities = new Map<string, ConnectorActivity>();
  const newId = () => `1:${crypto.randomBytes(8).toString('hex')}`;
  const post = (conversationId: string, body: unknown) => {
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
    },
    conversation: (conversationId) => [...activities.values()].filter((a) => a.conversationId === conversationId),
  };
}
