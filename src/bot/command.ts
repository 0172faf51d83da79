import type { CardAttachment } from '../cards/render-card';
import type { Gate } from '../auth/access';
import type { MembershipCheck } from '../auth/membership';
import type { WorkspaceLogs } from '../workspaces/workspace-logs';
import type { EnrichmentProvider } from '../enrichment/orchestrator';
import type { Incident } from '../incidents/incident';
import type { Pager } from '../paging/pager';
import type { Schedule } from '../paging/schedule-types';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import type { SentinelClient } from '../sentinel/sentinel-client';
import type { IncidentWriter } from '../sentinel/incident-writer';
import type { ActionService } from '../actions/action-service';
import type { Notice, ResponseViews } from '../actions/response-view';
import type { CaseSystemName } from '../cases/case-system';

/** The action service as chat and card buttons reach it; undefined without an action policy. */
export interface ActionsDeps {
  service: ActionService;
  views: ResponseViews;
  /** The incident card as `viewerId` sees it (their buttons, and `notice` for them alone). */
  incidentCard(incident: Incident, viewerId?: string, notice?: Notice): Promise<CardAttachment>;
}

/** Everything a command may use; built once in `createApp`. */
export interface CommandDeps {
  db: Db;
  sentinel: SentinelClient;
  portalUrl: string;
  /** The incident's card with whatever enrichment is stored for it. */
  renderIncidentCard: (incident: Incident) => Promise<CardAttachment>;
  providers: EnrichmentProvider[];
  /** Every workspace's query runner and the limits for `kql`; undefined when Log Analytics is not configured. */
  kql?: { logs: WorkspaceLogs; maxRows: number; timeoutSeconds: number };
  responders: MembershipCheck;
  /** On-call paging; undefined when no schedule is configured. */
  paging?: { pager: Pager; schedule: Schedule; clock: () => Date; resolvePerson: (person: string) => Promise<{ aadObjectId?: string; name: string }> };
  actions?: ActionsDeps;
  /** Assign, comment on and close incidents in Sentinel (responders only). */
  incidentWriter: IncidentWriter;
  /** Cases in ServiceNow or Jira (`ticket <n>`, "Open ticket"); undefined without a case system. */
  cases?: { system: CaseSystemName; open(incidentKey: string, by: string): Promise<void> };
  logger: Logger;
}

export interface Caller {
  /** Entra object id when Teams sent one. */
  aadObjectId?: string;
  name?: string;
  conversationId: string;
  serviceUrl?: string;
  /** A card click: the message holding the card (the invoke's replyToId), which says whose incident it shows. */
  cardActivityId?: string;
}

export type Reply =
  | { text: string }
  | {
      card: CardAttachment;
      text?: string;
      /** Called with where the card landed, so that later changes can update it in place. */
      onSent?: (where: { activityId: string; conversationId: string; serviceUrl: string }) => Promise<void>;
    };

export interface Command {
  usage: string;
  description: string;
  /** Who may use it: the bot checks before `handle` runs, and refuses everyone else in words. */
  gate: Gate;
  /** The longest message it reads, in characters (MAX_MESSAGE when unset). */
  maxLength?: number;
  /**
   * Takes its arguments as typed (NFKC, hidden characters kept) rather than with zero-width
   * characters removed: it names a target, and must refuse a hidden character in it.
   */
  asTyped?: boolean;
  /** `args` is the rest of the message after the command word, trimmed. */
  handle(args: string, caller: Caller, deps: CommandDeps): Promise<Reply>;
}
