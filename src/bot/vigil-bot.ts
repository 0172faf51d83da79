import { TeamsActivityHandler, TurnContext, type Activity, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue } from 'botbuilder';
import { untrusted } from '../cards/markdown';
import type { Db } from '../store/db';
import { saveConversation, unsubscribeConversation, unsubscribeTeam, type ConversationKind } from '../store/conversation-repository';
import { saveTeamsUser } from '../store/page-repository';
import { ADAPTIVE_CARD } from '../cards/render-card';
import type { CommandDeps, Reply } from './command';
import { parseCommand } from './commands';
import { verbHandler } from './verbs';

export interface BotDeps extends CommandDeps {
  db: Db;
  /** When set, activities from any other tenant are refused. */
  tenantId?: string;
}

const MAX_COMMAND_LENGTH = 2000;

const tenantOf = (a: Partial<Activity>): string | undefined =>
  (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? a.conversation?.tenantId;

const teamOf = (a: Partial<Activity>) => (a.channelData as { team?: { id?: string; name?: string } } | undefined)?.team;

const kindOf = (a: Partial<Activity>): ConversationKind => {
  const type = a.conversation?.conversationType;
  if (type === 'channel' || teamOf(a)?.id) return 'channel';
  return type === 'groupChat' ? 'groupChat' : 'personal';
};

/** A channel message's conversation id carries `;messageid=…` (the thread); cards go to the channel. */
const channelConversationId = (id: string) => id.split(';messageid=')[0]!;

/**
 * Translates Teams activities into calls on Vigil's tables and store; holds no logic of its own.
 * Installation in a team subscribes its channel to incident cards; removal unsubscribes it.
 */
export class VigilBot extends TeamsActivityHandler {
  constructor(private readonly deps: BotDeps) {
    super();
    this.onMessage(async (context, next) => {
      await this.handleMessage(context);
      await next();
    });
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.remember(context);
      await next();
    });
    this.onInstallationUpdateRemove(async (context, next) => {
      await this.forget(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      if (context.activity.membersAdded?.some((m) => m.id === context.activity.recipient.id)) await this.remember(context);
      await next();
    });
    this.onMembersRemoved(async (context, next) => {
      if (context.activity.membersRemoved?.some((m) => m.id === context.activity.recipient.id)) await this.forget(context);
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    const tenant = tenantOf(context.activity);
    if (this.deps.tenantId && tenant !== this.deps.tenantId) {
      this.deps.logger.warn({ tenant, type: context.activity.type }, 'refused an activity from another tenant');
      return;
    }
    const from = context.activity.from;
    if (from?.aadObjectId && from.id && context.activity.serviceUrl) {
      // Who is who in Teams: paging needs a user's Teams id to open a 1:1 chat with them.
      await saveTeamsUser(this.deps.db, { aadObjectId: from.aadObjectId, teamsId: from.id, name: from.name, tenantId: tenant, serviceUrl: context.activity.serviceUrl });
    }
    await super.run(context);
  }

  /**
   * Card buttons (`Action.Execute`). The verb picks the handler from the table; the data carries
   * only opaque ids, and who clicked comes from Teams, never from the card. Answers at once with
   * the card as the clicker should now see it; slow work happens after.
   */
  protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const error = (code: number, message: string): AdaptiveCardInvokeResponse => ({ statusCode: code, type: 'application/vnd.microsoft.error', value: { code: String(code), message } as never });
    const verb = value.action?.verb;
    const handler = verbHandler(verb);
    if (!handler) return error(400, `Vigil does not know the action "${String(verb).slice(0, 40)}".`);
    const data = typeof value.action.data === 'object' && value.action.data !== null && !Array.isArray(value.action.data) ? (value.action.data as Record<string, unknown>) : {};
    const a = context.activity;
    this.deps.logger.info({ verb, user: a.from.aadObjectId, trigger: (value as { trigger?: string }).trigger }, 'card action');
    const result = await handler(data, { aadObjectId: a.from.aadObjectId, name: a.from.name, conversationId: a.conversation.id, serviceUrl: a.serviceUrl }, this.deps);
    if ('error' in result) return error(result.error.status, result.error.message);
    return { statusCode: 200, type: ADAPTIVE_CARD, value: result.card.content as never };
  }

  private async handleMessage(context: TurnContext): Promise<void> {
    const text = (TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '').replace(/&nbsp;/g, ' ').trim();
    if (text === '') return;
    const caller = { aadObjectId: context.activity.from.aadObjectId, name: context.activity.from.name, conversationId: context.activity.conversation.id, serviceUrl: context.activity.serviceUrl };
    const parsed = text.length <= MAX_COMMAND_LENGTH ? parseCommand(text) : undefined;
    let reply: Reply;
    if (!parsed) {
      const word = untrusted(text.split(/\s+/)[0] ?? '', 40);
      reply = { text: `I don't know \`${word}\`. Type **help** to see what I can do.` };
    } else {
      this.deps.logger.info({ command: parsed.name, user: caller.aadObjectId }, 'chat command');
      reply = await parsed.command.handle(parsed.args, caller, this.deps);
    }
    const sent = await context.sendActivity('card' in reply ? { type: 'message', text: reply.text, attachments: [reply.card] } : { type: 'message', text: reply.text, textFormat: 'markdown' });
    if ('onSent' in reply && reply.onSent && sent?.id) await reply.onSent({ activityId: sent.id, conversationId: context.activity.conversation.id, serviceUrl: context.activity.serviceUrl });
  }

  private async remember(context: TurnContext): Promise<void> {
    const a = context.activity;
    const kind = kindOf(a);
    const team = teamOf(a);
    const reference = TurnContext.getConversationReference(a);
    const id = channelConversationId(a.conversation.id);
    reference.conversation = { ...reference.conversation!, id };
    await saveConversation(this.deps.db, {
      id,
      kind,
      tenantId: tenantOf(a),
      teamId: team?.id,
      name: team?.name ?? a.conversation.name,
      serviceUrl: a.serviceUrl,
      reference,
      subscribed: kind === 'channel',
    });
    this.deps.logger.info({ conversation: id, kind, team: team?.id }, kind === 'channel' ? 'installed in a channel; incident cards will be posted there' : 'installed in a chat');
  }

  private async forget(context: TurnContext): Promise<void> {
    const a = context.activity;
    const team = teamOf(a);
    const n = team?.id ? await unsubscribeTeam(this.deps.db, team.id) : await unsubscribeConversation(this.deps.db, channelConversationId(a.conversation.id));
    this.deps.logger.info({ conversation: a.conversation.id, team: team?.id, unsubscribed: n }, 'removed; no more incident cards there');
  }
}
