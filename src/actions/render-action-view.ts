import { defangIndicator, defangLinks, escapeMarkdown, truncate, untrusted, wellFormed } from '../cards/markdown';
import { formatTime } from '../incidents/render-incident-card';
import type { FailedAction, StoredAction } from '../store/action-repository';
import { actionTitle, targetValue, type ActionKind } from './action-kinds';
import type { ActionOption } from './action-options';
import { isGuid } from '../ids';

/** What one person may do, checked before their view is drawn (and again on every click). */
export interface Viewer {
  id: string;
  canApprove: Set<ActionKind>;
  canRequest: Set<ActionKind>;
}

export interface Button {
  title: string;
  verb: string;
  data: Record<string, string | number>;
  style: 'default' | 'positive' | 'destructive';
  /** The option the verdict favours: the card puts it first, on the first screen. */
  recommended?: boolean;
}

export interface ActionRowView {
  text: string;
  color: 'Default' | 'Good' | 'Warning' | 'Attention' | 'Accent';
  /**
   * The same state as a container style: cards tint the row and keep its text in the default
   * colour, which stays readable where small yellow or light-green text on white would not.
   */
  tint: 'emphasis' | 'good' | 'warning' | 'attention' | 'accent';
  buttons: Button[];
}

const TINT: Record<ActionRowView['color'], ActionRowView['tint']> = { Default: 'emphasis', Good: 'good', Warning: 'warning', Attention: 'attention', Accent: 'accent' };

const icon: Record<StoredAction['state'], string> = {
  requested: '⏳',
  approved: '▶️',
  queued: '▶️',
  running: '⚙️',
  succeeded: '✅',
  failed: '❌',
  rejected: '🚫',
  expired: '⌛',
  cancelled: '↩️',
};

const color: Record<StoredAction['state'], ActionRowView['color']> = {
  requested: 'Warning',
  approved: 'Accent',
  queued: 'Accent',
  running: 'Accent',
  succeeded: 'Good',
  failed: 'Attention',
  rejected: 'Default',
  expired: 'Default',
  cancelled: 'Default',
};

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Button titles are plain text, not markdown: no escaping, but no control characters and no live links. */
export const buttonText = (text: string, max = 60): string => {
  return truncate(defangLinks(wellFormed(text.replace(CONTROL, ''))).trim(), max);
};

const nameOf = (names: Map<string, string>, id: string, fallback?: string) => untrusted(names.get(id.toLowerCase()) ?? fallback ?? 'someone', 60);
const list = (names: Map<string, string>, ids: string[]) => ids.map((id) => nameOf(names, id)).join(', ');
const seconds = (a: StoredAction) => (a.startedAt && a.endedAt ? ` in ${((a.endedAt.getTime() - a.startedAt.getTime()) / 1000).toFixed(1)} s` : '');
const errorOf = (a: FailedAction) => untrusted(a.result.error, 200);

/** The line a card shows for an action: what, on what, and where it stands, in words. */
export function actionLine(a: StoredAction, names: Map<string, string>): string {
  const what = `${icon[a.state]} **${escapeMarkdown(actionTitle(a.kind, a.undoOf !== undefined))}** ${untrusted(targetValue(a.target), 120)}`;
  const by = `requested by ${nameOf(names, a.requestedBy, a.requestedByName)}`;
  const approvedBy = a.approvals.length > 0 ? `approved by ${list(names, a.approvals)}` : a.approvalsNeeded === 0 ? 'no approval needed' : '';
  const left = a.approvalsNeeded - a.approvals.length;
  switch (a.state) {
    case 'requested':
      return [what, by, approvedBy, `waiting for ${left} more approval${left === 1 ? '' : 's'} until ${formatTime(a.expiresAt.toISOString())}`].filter(Boolean).join(' · ');
    case 'approved':
    case 'queued':
      return [what, by, approvedBy, a.attempts > 0 ? `will try again shortly (attempt ${a.attempts} failed)` : 'queued'].filter(Boolean).join(' · ');
    case 'running':
      return [what, by, approvedBy, `running${a.attempts > 1 ? ` (attempt ${a.attempts})` : ''}`].filter(Boolean).join(' · ');
    case 'succeeded':
      return [what, `done ${a.endedAt ? formatTime(a.endedAt.toISOString()) : ''}${seconds(a)}`.trim(), by, approvedBy].filter(Boolean).join(' · ');
    case 'failed':
      return [what, `failed after ${a.attempts} attempt${a.attempts === 1 ? '' : 's'}: ${errorOf(a)}`, by, approvedBy].filter(Boolean).join(' · ');
    case 'rejected':
      return [what, by, `rejected by ${nameOf(names, a.decidedBy ?? '')}${a.decidedReason ? `: ${untrusted(a.decidedReason, 200)}` : ''}`].join(' · ');
    case 'expired':
      return [what, by, `expired ${formatTime(a.expiresAt.toISOString())} without enough approvals`].join(' · ');
    case 'cancelled':
      return [what, `cancelled by ${nameOf(names, a.requestedBy, a.requestedByName)}`].join(' · ');
  }
}

/**
 * One action as a viewer sees it: Approve and Reject for an approver who is not its requester and
 * has not approved it yet, Cancel for its requester, Undo on a finished action nobody undid. Without
 * a viewer (the card everyone gets) it has no decision buttons.
 */
export function actionRow(a: StoredAction, names: Map<string, string>, all: StoredAction[], viewer?: Viewer): ActionRowView {
  const buttons: Button[] = [];
  const data = { action: a.id };
  const self = viewer && viewer.id.toLowerCase() === a.requestedBy.toLowerCase();
  const approvedAlready = viewer && a.approvals.some((x) => x.toLowerCase() === viewer.id.toLowerCase());
  if (a.state === 'requested' && viewer && !self && !approvedAlready && viewer.canApprove.has(a.kind)) {
    buttons.push({ title: 'Approve', verb: 'action.approve', data, style: 'positive' }, { title: 'Reject', verb: 'action.reject', data, style: 'destructive' });
  }
  if (a.state === 'requested' && self) buttons.push({ title: 'Cancel request', verb: 'action.cancel', data, style: 'default' });
  const undoOpenOrDone = all.some((x) => x.undoOf === a.id && !['rejected', 'expired', 'cancelled', 'failed'].includes(x.state));
  if (a.state === 'succeeded' && !a.undoOf && !undoOpenOrDone && (!viewer || viewer.canRequest.has(a.kind))) {
    buttons.push({ title: buttonText(`Undo: ${actionTitle(a.kind, true)}`), verb: 'action.undo', data, style: 'default' });
  }
  return { text: actionLine(a, names), color: color[a.state], tint: TINT[color[a.state]], buttons };
}

/** Options not already asked for (or done and not undone) on this incident. */
export function openOptions(options: ActionOption[], actions: StoredAction[]): ActionOption[] {
  const live = (o: ActionOption) =>
    actions.some(
      (a) =>
        !a.undoOf &&
        a.kind === o.target.kind &&
        targetValue(a.target).toLowerCase() === targetValue(o.target).toLowerCase() &&
        !['rejected', 'expired', 'cancelled', 'failed'].includes(a.state) &&
        !actions.some((u) => u.undoOf === a.id && u.state === 'succeeded'),
    );
  return options.filter((o) => !live(o));
}

/** Short verbs for buttons: the target, not the verb, is what needs the room. */
const BUTTON_LABELS: Record<ActionKind, string> = {
  'block-ip': 'Block IP',
  'isolate-vm': 'Isolate VM',
  'disable-user': 'Disable user',
  'block-hash': 'Block hash',
  'add-indicator': 'Add to TI',
};

/**
 * A target as people recognise it, short enough for a button: an account's UPN (the entity's
 * name when the target is only an object id), a host's name without its domain, the first 12
 * characters of a hash, a URL or domain defanged.
 */
export function shortTarget(o: Pick<ActionOption, 'target' | 'entity'>, max = 28): string {
  const t = o.target;
  switch (t.kind) {
    case 'disable-user': {
      const upn = t.upn ?? (isGuid(t.user) ? (o.entity.details.upn ?? (isGuid(o.entity.value) ? undefined : o.entity.value)) : t.user);
      return truncate(upn ?? `account ${t.user.slice(0, 8)}…`, max);
    }
    case 'isolate-vm':
      return truncate(/^\d+\.\d+\.\d+\.\d+$/.test(t.host) ? t.host : t.host.split('.')[0]!, max);
    case 'block-hash':
      return `${t.hash.slice(0, 12)}…`;
    case 'add-indicator':
      return t.type === 'hash' ? `${t.indicator.slice(0, 12)}…` : truncate(defangIndicator(t.indicator.replace(/^[a-z]+:\/\//i, '')), max);
    case 'block-ip':
      return t.ip;
  }
}

/** The buttons that start a request, one group per entity; the favoured one marked ★. */
export function optionButtons(incident: { number: number; workspace?: string }, options: ActionOption[]): Array<{ buttons: Button[] }> {
  const groups = new Map<string, Button[]>();
  for (const o of options) {
    const key = `${o.entity.kind}:${o.entity.value}`;
    const title = buttonText(`${o.recommended ? '★ ' : ''}${BUTTON_LABELS[o.target.kind]} ${shortTarget(o)}`, 40);
    const list = groups.get(key) ?? [];
    list.push({
      title,
      verb: 'action.request',
      data: { incident: incident.number, ...(incident.workspace && { workspace: incident.workspace }), option: o.id },
      style: o.recommended ? 'destructive' : 'default',
      recommended: o.recommended,
    });
    groups.set(key, list);
  }
  return [...groups.values()].map((buttons) => ({ buttons }));
}
