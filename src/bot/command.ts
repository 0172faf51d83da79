import type { CardAttachment } from '../cards/render-card';
import type { ResponderCheck } from '../auth/responders';
import type { KqlRunner } from '../enrichment/kql-runner';
import type { EnrichmentProvider } from '../enrichment/orchestrator';
import type { Incident } from '../incidents/incident';
import type { Pager } from '../paging/pager';
import type { Schedule } from '../paging/schedule-types';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import type { SentinelClient } from '../sentinel/sentinel-client';

/** Everything a command may use; built once in `createApp`. */
export interface CommandDeps {
  db: Db;
  sentinel: SentinelClient;
  portalUrl: string;
  /** The incident's card with whatever enrichment is stored for it. */
  renderIncidentCard: (incident: Incident) => Promise<CardAttachment>;
  providers: EnrichmentProvider[];
  /** The workspace's query runner and the limits for `kql`; undefined when Log Analytics is not configured. */
  kql?: { runner: KqlRunner; maxRows: number; timeoutSeconds: number };
  responders: ResponderCheck;
  /** On-call paging; undefined when no schedule is configured. */
  paging?: { pager: Pager; schedule: Schedule; clock: () => Date; resolvePerson: (person: string) => Promise<{ aadObjectId?: string; name: string }> };
  logger: Logger;
}

export interface Caller {
  /** Entra object id when Teams sent one. */
  aadObjectId?: string;
  name?: string;
  conversationId: string;
}

export type Reply = { text: string } | { card: CardAttachment; text?: string };

export interface Command {
  usage: string;
  description: string;
  /** `args` is the rest of the message after the command word, trimmed. */
  handle(args: string, caller: Caller, deps: CommandDeps): Promise<Reply>;
}
