import type { Command } from '../command';
import { normaliseChatInput, type ChatInput } from '../chat-input';
import { enrichCommand } from './enrich';
import { entitiesCommand } from './entities';
import { createHelpCommand } from './help';
import { incidentCommand } from './incident';
import { incidentsCommand } from './incidents';
import { kqlCommand } from './kql';
import { ackCommand } from './ack';
import { oncallCommand } from './oncall';
import { pageCommand } from './page';
import { requestCommand } from './request-action';
import { actionsCommand } from './actions';
import { auditCommand } from './audit';
import { statsCommand } from './stats';
import { assignCommand, closeCommand, commentCommand } from './incident-write';
import { subscribeCommand, subscriptionsCommand, unsubscribeCommand } from './subscribe';
import { ticketCommand } from './ticket';

export type CommandName =
  | 'help'
  | 'incidents'
  | 'incident'
  | 'entities'
  | 'enrich'
  | 'kql'
  | 'oncall'
  | 'page'
  | 'ack'
  | 'block'
  | 'isolate'
  | 'disable'
  | 'indicator'
  | 'actions'
  | 'audit'
  | 'stats'
  | 'assign'
  | 'comment'
  | 'close'
  | 'subscribe'
  | 'subscriptions'
  | 'unsubscribe'
  | 'ticket';

/** The chat command table: the first word of a message picks the handler. */
export const commands: Record<CommandName, Command> = {
  help: createHelpCommand(() => Object.values(commands).map(({ usage, description }) => ({ usage, description }))),
  incidents: incidentsCommand,
  incident: incidentCommand,
  entities: entitiesCommand,
  enrich: enrichCommand,
  kql: kqlCommand,
  oncall: oncallCommand,
  page: pageCommand,
  ack: ackCommand,
  block: requestCommand('block'),
  isolate: requestCommand('isolate'),
  disable: requestCommand('disable'),
  indicator: requestCommand('indicator'),
  actions: actionsCommand,
  audit: auditCommand,
  stats: statsCommand,
  assign: assignCommand,
  comment: commentCommand,
  close: closeCommand,
  subscribe: subscribeCommand,
  subscriptions: subscriptionsCommand,
  unsubscribe: unsubscribeCommand,
  ticket: ticketCommand,
};

const ZERO_WIDTH_CHAR = /[\u200B-\u200D\u2060\uFEFF]/;
/** Spaces, but not U+FEFF (JavaScript counts it as one): a hidden character must stay to be refused. */
const EDGE_SPACE = /^[^\S\uFEFF]+|[^\S\uFEFF]+$/g;

/** What follows the command word in the text as typed, `word` being that word without its zero-width characters. */
const afterWord = (asTyped: string, word: string): string => {
  const chars = [...asTyped];
  const wanted = [...word].length;
  let i = 0;
  for (let seen = 0; i < chars.length && seen < wanted; i++) if (!ZERO_WIDTH_CHAR.test(chars[i]!)) seen++;
  return chars.slice(i).join('').replace(EDGE_SPACE, '');
};

/**
 * Splits "incident 42" into the command and its arguments, reading the normalised text (NFKC,
 * zero-width characters removed: `ｉｎｃｉｄｅｎｔ` and `inci\u200bdent` are `incident`); unknown
 * words give undefined. Commands that name a target get their arguments as typed (`asTyped`).
 * Every command in this table has a gate (`Command.gate`); the authorization test lists them all.
 */
export function parseCommand(input: string | ChatInput): { command: Command; name: CommandName; args: string } | undefined {
  const { text, asTyped } = typeof input === 'string' ? normaliseChatInput(input) : input;
  const [word = ''] = text.split(/\s/, 1);
  const name = word.toLowerCase() as CommandName;
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) return undefined;
  // The rest keeps its line breaks: a KQL `//` comment ends at one.
  return { command, name, args: afterWord(command.asTyped ? asTyped : text, word) };
}
