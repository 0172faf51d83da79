import { defangIndicator, escapeMarkdown, untrusted } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import type { IncidentEnrichment } from '../enrichment/summarize';
import type { SourceResult } from '../enrichment/types';
import type { ActionRowView, Button } from '../actions/render-action-view';
import type { Entity, EntityKind, Incident, Severity, Status } from './incident';

/** The response part of the card: actions taken or asked for, options, and a note for one viewer. */
export interface ResponseView {
  rows: ActionRowView[];
  optionGroups: Array<{ buttons: Button[] }>;
  /** A message for the person who clicked (their view only): what happened, or why not. */
  notice?: { text: string; ok: boolean };
  /** Requests wait for a decision: offer "Review requests" and a user-specific refresh. */
  hasOpen: boolean;
  /** The incident is in Vigil's store, so it can be assigned, commented on and closed from the card. */
  canWrite: boolean;
  /** Universal Actions refresh: these users' clients fetch their own view of the card. */
  refreshUserIds?: string[];
}

const MAX_ENTITIES_SHOWN = 15;

const severityLook: Record<Severity, { style: string; color: string; label: string }> = {
  High: { style: 'attention', color: 'Attention', label: '🔴 HIGH' },
  Medium: { style: 'warning', color: 'Warning', label: '🟠 MEDIUM' },
  Low: { style: 'accent', color: 'Accent', label: '🔵 LOW' },
  Informational: { style: 'default', color: 'Default', label: '⚪ INFORMATIONAL' },
};

const statusColor: Record<Status, string> = { New: 'Accent', Active: 'Warning', Closed: 'Good' };

export const entityLabel: Record<EntityKind, string> = {
  ip: 'IP',
  account: 'Account',
  host: 'Host',
  filehash: 'File hash',
  url: 'URL',
  domain: 'Domain',
  file: 'File',
  process: 'Process',
  mailbox: 'Mailbox',
  cloudapp: 'Cloud app',
  azureresource: 'Azure resource',
  other: 'Other',
};

/** URLs and domains are shown defanged; everything else escaped as plain text. */
export const entityText = (e: Pick<Entity, 'kind' | 'value'>): string =>
  e.kind === 'url' || e.kind === 'domain' ? escapeMarkdown(defangIndicator(e.value.slice(0, 200))) : untrusted(e.value, 200);

export const formatTime = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

const list = (xs: string[], empty = '—') => (xs.length === 0 ? empty : untrusted(xs.join(', '), 200));

const verdictLook: Record<NonNullable<IncidentEnrichment['recommendation']>, { style: string; color: string; text: string }> = {
  BLOCK_IMMEDIATELY: { style: 'attention', color: 'Attention', text: '⛔ BLOCK IMMEDIATELY' },
  INVESTIGATE: { style: 'warning', color: 'Warning', text: '🔎 INVESTIGATE' },
  MONITOR: { style: 'good', color: 'Good', text: '👁 MONITOR' },
};

/** The verdict line, coloured by recommendation; empty until some source has scored something. */
export const verdictOf = (e?: Pick<IncidentEnrichment, 'recommendation' | 'score' | 'assessedSeverity' | 'privileged'>) => {
  if (!e?.recommendation || e.score === undefined) return { verdict: '', verdictStyle: 'default', verdictColor: 'Default' };
  const look = verdictLook[e.recommendation];
  const assessed = e.assessedSeverity ? ` · assessed ${e.assessedSeverity}` : '';
  return { verdict: `${look.text} · risk ${Math.round(e.score)}/100${assessed}${e.privileged ? ' · privileged account' : ''}`, verdictStyle: look.style, verdictColor: look.color };
};

const factText = (key: string, value: string | number | boolean | null): string | undefined => {
  if (value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value ? key : `not ${key}`;
  return `${key} ${value}`;
};

/** One line per source: its score first, then its facts; an unavailable source says why. */
export const sourceLine = (r: SourceResult): string => {
  if (r.status !== 'ok') return `unavailable — ${untrusted(r.reason, 120)}`;
  const facts = Object.entries(r.facts)
    .map(([k, v]) => factText(k, v))
    .filter((t): t is string => t !== undefined);
  const score = r.score === undefined ? [] : [`score ${Math.round(r.score)}`];
  return untrusted([...score, ...facts].join(' · '), 300);
};

const enrichmentData = (incident: Incident, e?: IncidentEnrichment) => ({
  ...verdictOf(e),
  enriching: e && e.pending > 0 ? `Enriching… ${e.planned - e.pending} of ${e.planned} look-ups answered` : '',
  enriched: (e?.entities ?? []).map((x) => ({
    heading: `${entityLabel[x.entity.kind]} ${entityText(x.entity)}${x.score === undefined ? '' : ` — risk ${Math.round(x.score)}`}`,
    lines: x.results.map((r) => ({ source: untrusted(r.source, 40), text: sourceLine(r) })),
  })),
});

/**
 * The incident card for a channel: the verdict first (when enrichment has one), then the facts,
 * the entities, what each source said about them, and the portal link.
 */
export function renderIncidentCard(incident: Incident, enrichment?: IncidentEnrichment, now: Date = new Date(), response?: ResponseView): CardAttachment {
  const look = severityLook[incident.severity];
  const shown = incident.entities.slice(0, MAX_ENTITIES_SHOWN);
  const hidden = incident.entities.length - shown.length;
  const owner = incident.owner?.name ?? incident.owner?.upn ?? incident.owner?.email;
  const card = renderCard('incident', {
    severityStyle: look.style,
    severityColor: look.color,
    severityLabel: look.label,
    number: incident.number,
    title: untrusted(incident.title, 200),
    status: incident.classification && incident.status === 'Closed' ? `Closed (${untrusted(incident.classification, 40)})` : incident.status,
    statusColor: statusColor[incident.status],
    severity: incident.severity,
    owner: owner ? untrusted(owner, 100) : 'Unassigned',
    created: formatTime(incident.createdAt),
    alerts: String(incident.alertCount),
    products: list(incident.products),
    tactics: list(incident.tactics),
    description: untrusted(incident.description, 500),
    entities: shown.map((e) => ({ kind: entityLabel[e.kind], value: entityText(e) })),
    moreEntities: hidden > 0 ? `…and ${hidden} more` : '',
    updated: formatTime(now.toISOString()),
    url: incident.url,
    ...enrichmentData(incident, enrichment),
    notice: response?.notice?.text ?? '',
    noticeColor: response?.notice?.ok === false ? 'Attention' : 'Good',
    actionRows: response?.rows ?? [],
    optionGroups: response?.optionGroups ?? [],
    hasOpen: response?.hasOpen ?? false,
    canWrite: response?.canWrite ?? false,
    canClose: (response?.canWrite ?? false) && incident.status !== 'Closed',
  });
  if (response?.hasOpen && response.refreshUserIds && response.refreshUserIds.length > 0) {
    card.content.refresh = { action: { type: 'Action.Execute', title: 'Refresh', verb: 'card.refresh', data: { incident: incident.number } }, userIds: response.refreshUserIds.slice(0, MAX_REFRESH_USERS) };
  }
  return card;
}

/** Teams refreshes a card automatically for at most 60 users. */
const MAX_REFRESH_USERS = 60;

/** One line per incident for lists in chat. */
export const incidentLine = (i: Incident): string =>
  `${severityLook[i.severity].label} **#${i.number}** ${untrusted(i.title, 120)} · ${i.status} · ${formatTime(i.createdAt)}`;
