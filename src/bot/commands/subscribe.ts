import { codeSpan } from '../../cards/markdown';
import { channelOfConversation } from '../../ids';
import { formatRouteRule, parseRouteRule, RULE_SYNTAX } from '../../routing/parse-route-rule';
import { audit } from '../../store/audit-repository';
import { getConversation } from '../../store/conversation-repository';
import { addChannelRoute, listChannelRoutes, listPinnedRoutes, removeChannelRoutes } from '../../store/route-repository';
import type { Caller, Command, CommandDeps } from '../command';

const GATE = { access: 'responder', what: 'change which incidents a channel gets' } as const;

const shown = codeSpan;

/** Some Teams clients send what was typed as HTML text: `>=` arrives as `&gt;=`. */
const typed = (args: string) => args.replace(/&(gt|lt|quot|amp);/g, (_m, name: string) => ({ gt: '>', lt: '<', quot: '"', amp: '&' })[name as 'gt' | 'lt' | 'quot' | 'amp']);

/** The channel the message came from (a thread reply names the channel), or why there is none. */
async function channelOf(caller: Caller, deps: CommandDeps): Promise<{ id: string } | { text: string }> {
  const id = channelOfConversation(caller.conversationId);
  const conversation = await getConversation(deps.db, id);
  if (conversation?.kind !== 'channel' || !conversation.subscribed) {
    return { text: 'Subscriptions belong to a channel Vigil is installed in: @mention me there, for example `@Vigil subscribe severity>=High`.' };
  }
  return { id };
}

const describe = async (deps: CommandDeps, id: string): Promise<string> => {
  const [{ routed, routes }, pinned] = await Promise.all([listChannelRoutes(deps.db, id), listPinnedRoutes(deps.db, id)]);
  const pins = pinned.map((rule) => `- ${shown(rule)} (pinned by the workspaces file)`);
  if (!routed && pins.length === 0) return 'This channel gets every incident (it has not subscribed to anything in particular). `subscribe <rule>` narrows it.';
  if (routes.length === 0 && pins.length === 0) return 'This channel gets no new incidents; cards already here keep updating. `subscribe all` or `subscribe <rule>` starts them again.';
  return [
    'This channel gets the incidents that match any of:',
    ...routes.map((r, n) => `${n + 1}. ${shown(r.rule)}`),
    ...pins,
    'Cards already here keep updating. `unsubscribe <number>` removes one rule, `unsubscribe` all of them.',
  ].join('\n\n');
};

/** `subscribe severity>=High workspace=contoso`: the channel also gets the incidents this rule takes. */
export const subscribeCommand: Command = {
  usage: 'subscribe <rule>',
  gate: GATE,
  description: 'This channel gets the incidents a rule takes, e.g. `subscribe severity>=High workspace=contoso` (or `all`)',
  maxLength: 600,
  async handle(args, caller, deps) {
    const channel = await channelOf(caller, deps);
    if ('text' in channel) return channel;
    const parsed = parseRouteRule(typed(args));
    if (!parsed.ok) return { text: `${parsed.error}\n\n${RULE_SYNTAX}` };
    const rule = formatRouteRule(parsed.rule);
    const added = await deps.db.transaction(async (tx) => {
      const fresh = await addChannelRoute(tx, channel.id, rule, caller.aadObjectId);
      if (fresh) await audit(tx, caller.aadObjectId ?? 'unknown', 'channel.subscribed', channel.id, { rule });
      return fresh;
    });
    return { text: `${added ? 'Subscribed' : 'Already subscribed'}: ${shown(rule)}.\n\n${await describe(deps, channel.id)}` };
  },
};

export const subscriptionsCommand: Command = {
  usage: 'subscriptions',
  gate: { access: 'staff', what: 'see which incidents a channel gets' },
  description: 'Which incidents this channel gets',
  async handle(_args, caller, deps) {
    const channel = await channelOf(caller, deps);
    if ('text' in channel) return channel;
    return { text: await describe(deps, channel.id) };
  },
};

/** `unsubscribe`: no new incidents here; `unsubscribe 2`: drop the second rule `subscriptions` lists. */
export const unsubscribeCommand: Command = {
  usage: 'unsubscribe [<number>]',
  gate: GATE,
  description: 'This channel stops getting new incidents, or drops one rule of `subscriptions`',
  async handle(args, caller, deps) {
    const channel = await channelOf(caller, deps);
    if ('text' in channel) return channel;
    const which = args.trim();
    if (which !== '' && !/^\d{1,3}$/.test(which)) return { text: 'Give the number `subscriptions` shows for the rule, for example `unsubscribe 2`, or nothing to stop every incident here.' };
    const rule = which === '' ? undefined : (await listChannelRoutes(deps.db, channel.id)).routes[Number(which) - 1]?.rule;
    if (which !== '' && rule === undefined) return { text: `This channel has no rule ${which}. ${await describe(deps, channel.id)}` };
    await deps.db.transaction(async (tx) => {
      await removeChannelRoutes(tx, channel.id, rule);
      await audit(tx, caller.aadObjectId ?? 'unknown', 'channel.unsubscribed', channel.id, rule === undefined ? { all: true } : { rule });
    });
    return { text: `${rule === undefined ? 'Unsubscribed from everything' : `Removed ${shown(rule)}`}.\n\n${await describe(deps, channel.id)}` };
  },
};
