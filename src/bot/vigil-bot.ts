import { TeamsActivityHandler, TurnContext, type Activity, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue } from 'botbuilder';
import { untrusted } from '../cards/markdown';
import type { Db } from '../store/db';
import { saveConversation, unsubscribeConversation, unsubscribeTeam, type ConversationKind } from '../store/conversation-repository';
import { listUnknownPinnedChannels } from '../store/route-repository';
import { saveTeamsUser } from '../store/teams-user-repository';
import { ADAPTIVE_CARD } from '../cards/render-card';
import { createAccessControl, createOnCallPeople, type AccessControl } from '../auth/access';
import { lengthOf, MAX_MESSAGE, normaliseChatInput, tooLong } from './chat-input';
import type { Caller, CommandDeps, Reply } from './command';
import { parseCommand } from './commands';
import { verbGates, verbHandler, type Verb } from './verbs';
import { channelOfConversation } from '../ids';

export interface BotDeps extends CommandDeps {
  db: Db;
  /** When set, activities from any other tenant are refused. */
  tenantId?: string;
}

const invokeErrorResponse = (code: number, message: string): AdaptiveCardInvokeResponse => ({
  statusCode: code,
  type: 'application/vnd.microsoft.error',
  value: { code: String(code), message } as never,
});

/** Longer than any command may be (kql's limit is the largest): not normalised, not parsed. */
const MAX_READ = 30_000;

const FOREIGN_TENANT = 'Vigil works only for people in its own organisation (Microsoft Entra tenant).';

const tenantOf = (a: Partial<Activity>): string | undefined => (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? a.conversation?.tenantId;

/**
 * Whether the activity comes from the configured tenant: both places Teams names the tenant
 * (channelData and the conversation) must agree with it, compared as GUIDs (any case).
 */
const fromTenant = (a: Partial<Activity>, tenantId: string): boolean => {
  const named = [(a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id, a.conversation?.tenantId].filter((t): t is string => typeof t === 'string');
  return named.length > 0 && named.every((t) => t.toLowerCase() === tenantId.toLowerCase());
};

const teamOf = (a: Partial<Activity>) => (a.channelData as { team?: { id?: string; name?: string } } | undefined)?.team;

const kindOf = (a: Partial<Activity>): ConversationKind => {
  const type = a.conversation?.conversationType;
  if (type === 'channel' || teamOf(a)?.id) return 'channel';
  return type === 'groupChat' ? 'groupChat' : 'personal';
};

/**
 * Translates Teams activities into calls on Vigil's tables and store; holds no logic of its own.
 * Installation in a team subscribes its channel to incident cards; removal unsubscribes it.
 */
export class VigilBot extends TeamsActivityHandler {
  private readonly access: AccessControl;

  constructor(private readonly deps: BotDeps) {
    super();
    this.access = createAccessControl({
      responders: deps.responders,
      participants: deps.actions && { check: (user) => deps.actions!.service.mayTakePart(user) },
      onCallPeople: deps.paging && createOnCallPeople(deps.paging.schedule, deps.paging.resolvePerson),
    });
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
    if (this.deps.tenantId && !fromTenant(context.activity, this.deps.tenantId)) {
      const a = context.activity;
      this.deps.logger.warn({ tenant, type: a.type, user: a.from?.aadObjectId }, 'refused an activity from another tenant');
      // A person is told why; a conversation or installation event is dropped: nothing is remembered.
      if (a.type === 'message') await context.sendActivity({ type: 'message', text: FOREIGN_TENANT });
      if (a.type === 'invoke') await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body: invokeErrorResponse(403, FOREIGN_TENANT) } });
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
    const error = invokeErrorResponse;
    const verb = value.action?.verb;
    const handler = verbHandler(verb);
    if (!handler) return error(400, `Vigil does not know the action "${String(verb).slice(0, 40)}".`);
    const data = typeof value.action.data === 'object' && value.action.data !== null && !Array.isArray(value.action.data) ? (value.action.data as Record<string, unknown>) : {};
    const a = context.activity;
    const permission = await this.access.check(verbGates[verb as Verb], a.from.aadObjectId);
    if (!permission.allowed) {
      this.deps.logger.warn({ verb, user: a.from.aadObjectId }, 'card action refused');
      return error(403, permission.reason);
    }
    this.deps.logger.info({ verb, user: a.from.aadObjectId, trigger: (value as { trigger?: string }).trigger }, 'card action');
    const result = await handler(data, { aadObjectId: a.from.aadObjectId, name: a.from.name, conversationId: a.conversation.id, serviceUrl: a.serviceUrl, cardActivityId: a.replyToId }, this.deps);
    if ('error' in result) return error(result.error.status, result.error.message);
    return { statusCode: 200, type: ADAPTIVE_CARD, value: result.card.content as never };
  }

  /** The answer to a chat message: too long, unknown, not allowed, or what the command says. */
  private async answer(raw: string, caller: Caller): Promise<Reply | undefined> {
    if (raw.length > MAX_READ) {
      // Not read whole: its first words say which command's limit to quote.
      const head = parseCommand(normaliseChatInput(raw.slice(0, 200)));
      return { text: tooLong(lengthOf(raw), head?.command.maxLength ?? MAX_MESSAGE) };
    }
    const input = normaliseChatInput(raw);
    if (input.text === '') return undefined;
    const parsed = parseCommand(input);
    if (!parsed) {
      const word = untrusted(input.text.split(/\s+/)[0] ?? '', 40);
      return { text: `I don't know \`${word}\`. Type **help** to see what I can do.` };
    }
    const length = lengthOf(input.text);
    const max = parsed.command.maxLength ?? MAX_MESSAGE;
    if (length > max) return { text: tooLong(length, max) };
    const permission = await this.access.check(parsed.command.gate, caller.aadObjectId);
    if (!permission.allowed) {
      this.deps.logger.warn({ command: parsed.name, user: caller.aadObjectId }, 'chat command refused');
      return { text: permission.reason };
    }
    this.deps.logger.info({ command: parsed.name, user: caller.aadObjectId }, 'chat command');
    return parsed.command.handle(parsed.args, caller, this.deps);
  }

  private async handleMessage(context: TurnContext): Promise<void> {
    const raw = TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '';
    const caller = { aadObjectId: context.activity.from.aadObjectId, name: context.activity.from.name, conversationId: context.activity.conversation.id, serviceUrl: context.activity.serviceUrl };
    const reply = await this.answer(raw, caller);
    if (!reply) return;
    const sent = await context.sendActivity('card' in reply ? { type: 'message', text: reply.text, attachments: [reply.card] } : { type: 'message', text: reply.text, textFormat: 'markdown' });
    if ('onSent' in reply && reply.onSent && sent?.id) await reply.onSent({ activityId: sent.id, conversationId: context.activity.conversation.id, serviceUrl: context.activity.serviceUrl });
  }

  private async remember(context: TurnContext): Promise<void> {
    const a = context.activity;
    const kind = kindOf(a);
    const team = teamOf(a);
    const reference = TurnContext.getConversationReference(a);
    const id = channelOfConversation(a.conversation.id);
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
    // Installed in a team, a bot may post in any of its channels: Teams tells it of one channel
    // only, so the workspaces file's other channels are reached through this installation (its
    // service URL and tenant, the channel's own id). A channel of another team refuses the post,
    // which the outbox reports; an install in that channel itself replaces this reference.
    if (kind === 'channel' && team?.id) {
      for (const channel of await listUnknownPinnedChannels(this.deps.db)) {
        await saveConversation(this.deps.db, {
          id: channel,
          kind: 'channel',
          tenantId: tenantOf(a),
          teamId: team.id,
          serviceUrl: a.serviceUrl,
          reference: { ...reference, conversation: { ...reference.conversation!, id: channel, name: undefined } },
          subscribed: true,
        });
        this.deps.logger.info({ conversation: channel, team: team.id }, 'a channel of the workspaces file; incident cards will be posted there through the team');
      }
    }
  }

  private async forget(context: TurnContext): Promise<void> {
    const a = context.activity;
    const team = teamOf(a);
    const n = team?.id ? await unsubscribeTeam(this.deps.db, team.id) : await unsubscribeConversation(this.deps.db, channelOfConversation(a.conversation.id));
    this.deps.logger.info({ conversation: a.conversation.id, team: team?.id, unsubscribed: n }, 'removed; no more incident cards there');
  }
}
