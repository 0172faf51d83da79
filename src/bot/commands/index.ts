import type { Command } from '../command';
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
import { assignCommand, closeCommand, commentCommand } from './incident-write';

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
  | 'assign'
  | 'comment'
  | 'close';

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
  assign: assignCommand,
  comment: commentCommand,
  close: closeCommand,
};

/** Splits "incident 42" into the command and its arguments; unknown words give undefined. */
export function parseCommand(text: string): { command: Command; name: CommandName; args: string } | undefined {
  const [word = '', ...rest] = text.trim().split(/\s+/);
  const name = word.toLowerCase() as CommandName;
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  return command ? { command, name, args: rest.join(' ').trim() } : undefined;
}
