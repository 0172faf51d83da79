import { fitCard } from '../cards/budget';
import { renderCard, type CardAttachment } from '../cards/render-card';
import { untrusted } from '../cards/markdown';
import type { IncidentEnrichment } from '../enrichment/summarize';
import { incidentRef, type Incident } from '../incidents/incident';
import type { ResponseTimeline, ResponseView } from '../incidents/render-incident-card';
import { findUndo, listIncidentActions, type StoredAction } from '../store/action-repository';
import type { Queryable } from '../store/db';
import { getIncident } from '../store/incident-repository';
import { recentTeamsUsers, teamsUserNames } from '../store/teams-user-repository';
import { ACTION_KINDS, type ActionKind } from './action-kinds';
import { actionOptions } from './action-options';
import type { ActionPermissions } from './action-permissions';
import { actionRow, openOptions, optionButtons, type Viewer } from './render-action-view';

const MAX_ROWS = 10;
const REFRESH_CANDIDATES = 200;

export type Notice = { text: string; ok: boolean };

/**
 * The response part of incident and action cards, for everyone (`viewerId` undefined: no decision
 * buttons, a refresh list naming who should fetch their own view) or for one person (Approve and
 * Reject only where they may decide). Permissions are asked of the shared membership cache.
 */
export function createResponseViews(o: { db: Queryable; permissions: ActionPermissions; enabled: (kind: ActionKind) => boolean }) {
  const viewerOf = async (id: string): Promise<Viewer> => {
    const canApprove = new Set<ActionKind>();
    const canRequest = new Set<ActionKind>();
    await Promise.all(
      ACTION_KINDS.map(async (kind) => {
        const [approve, request] = await Promise.all([o.permissions.mayApprove(kind, id), o.permissions.mayRequest(kind, id)]);
        if (approve.allowed) canApprove.add(kind);
        if (request.allowed) canRequest.add(kind);
      }),
    );
    return { id, canApprove, canRequest };
  };

  const namesFor = (actions: StoredAction[]) => teamsUserNames(o.db, [...new Set(actions.flatMap((a) => [a.requestedBy, ...a.approvals, ...(a.decidedBy ? [a.decidedBy] : [])]))]);

  /** Teams ids of people who may decide on an open request (and of its requesters): at most 60. */
  const refreshUsers = async (open: StoredAction[]): Promise<string[]> => {
    const kinds = [...new Set(open.map((a) => a.kind))];
    const requesters = new Set(open.map((a) => a.requestedBy.toLowerCase()));
    const users = await recentTeamsUsers(o.db, REFRESH_CANDIDATES);
    const wanted = await Promise.all(users.map(async (u) => requesters.has(u.aadObjectId) || (await Promise.all(kinds.map((k) => o.permissions.mayApprove(k, u.aadObjectId)))).some((p) => p.allowed)));
    return users.filter((_u, n) => wanted[n]).map((u) => u.teamsId);
  };

  return {
    viewerOf,

    async forIncident(incident: Incident, enrichment: IncidentEnrichment | undefined, viewerId?: string, notice?: Notice): Promise<ResponseView> {
      const stored = await getIncident(o.db, incident.key);
      if (!stored) return { rows: [], optionGroups: [], hasOpen: false, canWrite: false, notice };
      const actions = await listIncidentActions(o.db, incident.key);
      const [names, viewer] = await Promise.all([namesFor(actions), viewerId ? viewerOf(viewerId) : undefined]);
      const open = actions.filter((a) => a.state === 'requested');
      const options = openOptions(actionOptions(incident, enrichment), actions).filter((x) => o.enabled(x.target.kind) && (!viewer || viewer.canRequest.has(x.target.kind)));
      return {
        rows: actions.slice(-MAX_ROWS).map((a) => actionRow(a, names, actions, viewer)),
        optionGroups: incident.status === 'Closed' ? [] : optionButtons(incident, options),
        notice,
        hasOpen: open.length > 0,
        canWrite: true,
        refreshUserIds: !viewer && open.length > 0 ? await refreshUsers(open) : undefined,
        timeline: responseTimeline(actions),
      };
    },

    /** The card of a request made in chat: its state, and the viewer's buttons. */
    async actionCard(a: StoredAction, viewerId?: string, notice?: Notice): Promise<CardAttachment> {
      const undo = a.incidentKey ? undefined : await findUndo(o.db, a.id);
      const related = a.incidentKey ? await listIncidentActions(o.db, a.incidentKey) : [a, ...(undo ? [undo] : [])];
      const [names, viewer, incident] = await Promise.all([namesFor(related), viewerId ? viewerOf(viewerId) : undefined, a.incidentKey ? getIncident(o.db, a.incidentKey) : undefined]);
      const row = actionRow(a, names, related, viewer);
      // Decisions taken on this card redraw this card, not the incident's.
      row.buttons = row.buttons.map((b) => ({ ...b, data: { ...b.data, view: 'action' } }));
      const userIds = !viewer && a.state === 'requested' ? await refreshUsers([a]) : [];
      // The row is one line; what can grow is the refresh list (60 Teams ids at most) and the title.
      return fitCard(
        [
          { users: 60, title: 120 },
          { users: 20, title: 60 },
          { users: 0, title: 40 },
        ],
        (d) => {
          const card = renderCard('action', {
            ...row,
            id: a.id,
            open: a.state === 'requested',
            notice: notice?.text ?? '',
            noticeColor: notice?.ok === false ? 'Attention' : 'Good',
            context: incident
              ? `For incident ${untrusted(incidentRef(incident.incident), 45)}: ${untrusted(incident.incident.title, d.title)} · ref ${a.id.slice(0, 8)}`
              : `Not linked to an incident · ref ${a.id.slice(0, 8)}`,
          });
          if (userIds.length > 0 && d.users > 0)
            card.content.refresh = { action: { type: 'Action.Execute', title: 'Refresh', verb: 'card.refresh', data: { action: a.id } }, userIds: userIds.slice(0, d.users) };
          return card;
        },
      );
    },
  };
}

const CONTAINMENT: ReadonlySet<ActionKind> = new Set(['block-ip', 'isolate-vm', 'disable-user', 'block-hash']);

/** First request, first approval and first containment done among an incident's actions (undos aside). */
export function responseTimeline(actions: StoredAction[]): ResponseTimeline {
  const first = (xs: Array<Date | undefined>) => xs.filter((x): x is Date => x instanceof Date).sort((a, b) => a.getTime() - b.getTime())[0];
  const own = actions.filter((a) => !a.undoOf);
  return {
    firstRequestAt: first(own.map((a) => a.createdAt)),
    // The worker starts an action as soon as it is approved: its start stands for the approval.
    firstApprovalAt: first(own.filter((a) => a.approvals.length > 0 && a.state !== 'requested').map((a) => a.startedAt)),
    containedAt: first(own.filter((a) => a.state === 'succeeded' && CONTAINMENT.has(a.kind)).map((a) => a.endedAt)),
  };
}

export type ResponseViews = ReturnType<typeof createResponseViews>;
