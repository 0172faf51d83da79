import { andMore, cutList, defaultBudget, fitCard, type CardBudget } from '../cards/budget';
import { cleanText, defangIndicator, escapeMarkdown, untrusted } from '../cards/markdown';
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

/**
 * The incident card's levels of detail, richest first: `fitCard` takes the first within the budget,
 * and the minimal card (title, status, "open in Sentinel") when none is. What a level leaves out is
 * one command away (`entities <n>`), and the stored incident keeps everything.
 */
interface Detail {
  title: number;
  description: number;
  entities: number;
  entityText: number;
  /** Enriched entities shown with their sources, riskiest first. */
  enriched: number;
  sourceText: number;
  rows: number;
  optionGroups: number;
  refreshUsers: number;
}

const DETAIL: Detail[] = [
  { title: 200, description: 500, entities: 15, entityText: 200, enriched: 15, sourceText: 300, rows: 10, optionGroups: 6, refreshUsers: 60 },
  { title: 200, description: 300, entities: 10, entityText: 120, enriched: 8, sourceText: 160, rows: 6, optionGroups: 4, refreshUsers: 40 },
  { title: 150, description: 200, entities: 5, entityText: 80, enriched: 4, sourceText: 100, rows: 3, optionGroups: 2, refreshUsers: 20 },
  { title: 120, description: 0, entities: 3, entityText: 60, enriched: 0, sourceText: 0, rows: 1, optionGroups: 1, refreshUsers: 10 },
];

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
export const entityText = (e: Pick<Entity, 'kind' | 'value'>, max = 200): string =>
  e.kind === 'url' || e.kind === 'domain' ? escapeMarkdown(defangIndicator(cleanText(e.value, max))) : untrusted(e.value, max);

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
export const sourceLine = (r: SourceResult, max = 300): string => {
  if (r.status !== 'ok') return `unavailable — ${untrusted(r.reason, Math.min(120, max))}`;
  const facts = Object.entries(r.facts)
    .map(([k, v]) => factText(k, v))
    .filter((t): t is string => t !== undefined);
  const score = r.score === undefined ? [] : [`score ${Math.round(r.score)}`];
  return untrusted([...score, ...facts].join(' · '), max);
};

/** Riskiest first; entities no source scored keep their order, after the scored ones. */
const byRisk = (e: IncidentEnrichment['entities']) => [...e].sort((a, b) => (b.score ?? -1) - (a.score ?? -1));

const enrichmentData = (incident: Incident, e: IncidentEnrichment | undefined, d: Detail) => {
  const { shown, hidden } = cutList(byRisk(e?.entities ?? []), d.enriched);
  return {
    ...verdictOf(e),
    enriching: e && e.pending > 0 ? `Enriching… ${e.planned - e.pending} of ${e.planned} look-ups answered` : '',
    enriched: shown.map((x) => ({
      heading: `${entityLabel[x.entity.kind]} ${entityText(x.entity, d.entityText)}${x.score === undefined ? '' : ` — risk ${Math.round(x.score)}`}`,
      lines: x.results.map((r) => ({ source: untrusted(r.source, 40), text: sourceLine(r, d.sourceText) })),
    })),
    moreEnriched: andMore(hidden, `looked up: \`entities ${incident.number}\` lists every entity with its risk`),
  };
};

/** The card when nothing else fits: which incident, its state, and where to read the rest. */
const minimalCard = (incident: Incident): CardAttachment => {
  const look = severityLook[incident.severity];
  return renderCard('incident-minimal', {
    severityStyle: look.style,
    severityColor: look.color,
    severityLabel: look.label,
    number: incident.number,
    title: untrusted(incident.title, 120),
    status: incident.status,
    entityCount: String(incident.entities.length),
    note: `This incident is too large for one Teams message. \`entities ${incident.number}\` lists its entities; Sentinel has the rest.`,
    url: incident.url,
  });
};

/**
 * The incident card for a channel: the verdict first (when enrichment has one), then the facts,
 * the entities, what each source said about them, and the portal link. The largest version that
 * fits `budget` (Teams' message size by default): long lists end in "…and N more", long text in an
 * ellipsis, and at the last a minimal card.
 */
export function renderIncidentCard(incident: Incident, enrichment?: IncidentEnrichment, now: Date = new Date(), response?: ResponseView, budget: CardBudget = defaultBudget): CardAttachment {
  return fitCard<Detail | 'minimal'>([...DETAIL, 'minimal'], (d) => (d === 'minimal' ? minimalCard(incident) : detailedCard(incident, enrichment, now, response, d)), budget);
}

function detailedCard(incident: Incident, enrichment: IncidentEnrichment | undefined, now: Date, response: ResponseView | undefined, d: Detail): CardAttachment {
  const look = severityLook[incident.severity];
  const entities = cutList(incident.entities, d.entities);
  const owner = incident.owner?.name ?? incident.owner?.upn ?? incident.owner?.email;
  const allRows = response?.rows ?? [];
  // The newest actions: older ones are in `audit <n>`.
  const rows = { shown: d.rows > 0 ? allRows.slice(-d.rows) : [], hidden: Math.max(0, allRows.length - d.rows) };
  const options = cutList(response?.optionGroups ?? [], d.optionGroups);
  const card = renderCard('incident', {
    severityStyle: look.style,
    severityColor: look.color,
    severityLabel: look.label,
    number: incident.number,
    title: untrusted(incident.title, d.title),
    status: incident.classification && incident.status === 'Closed' ? `Closed (${untrusted(incident.classification, 40)})` : incident.status,
    statusColor: statusColor[incident.status],
    severity: incident.severity,
    owner: owner ? untrusted(owner, 100) : 'Unassigned',
    created: formatTime(incident.createdAt),
    alerts: String(incident.alertCount),
    products: list(incident.products),
    tactics: list(incident.tactics),
    description: d.description > 0 ? untrusted(incident.description, d.description) : '',
    entities: entities.shown.map((e) => ({ kind: entityLabel[e.kind], value: entityText(e, d.entityText) })),
    moreEntities: andMore(entities.hidden, `· \`entities ${incident.number}\` lists them all`),
    updated: formatTime(now.toISOString()),
    url: incident.url,
    ...enrichmentData(incident, enrichment, d),
    notice: response?.notice?.text ?? '',
    noticeColor: response?.notice?.ok === false ? 'Attention' : 'Good',
    actionRows: rows.shown,
    moreRows: andMore(rows.hidden, `earlier actions · \`audit ${incident.number}\` has the record`),
    optionGroups: options.shown,
    moreOptions: andMore(options.hidden, `entities to act on · \`block\`, \`isolate\` or \`disable\` … \`for ${incident.number}\` in chat`),
    hasOpen: response?.hasOpen ?? false,
    canWrite: response?.canWrite ?? false,
    canClose: (response?.canWrite ?? false) && incident.status !== 'Closed',
  });
  if (response?.hasOpen && response.refreshUserIds && response.refreshUserIds.length > 0) {
    card.content.refresh = { action: { type: 'Action.Execute', title: 'Refresh', verb: 'card.refresh', data: { incident: incident.number } }, userIds: response.refreshUserIds.slice(0, Math.min(d.refreshUsers, MAX_REFRESH_USERS)) };
  }
  return card;
}

/** Teams refreshes a card automatically for at most 60 users. */
const MAX_REFRESH_USERS = 60;

/** One line per incident for lists in chat. */
export const incidentLine = (i: Incident, titleMax = 120): string =>
  `${severityLook[i.severity].label} **#${i.number}** ${untrusted(i.title, titleMax)} · ${i.status} · ${formatTime(i.createdAt)}`;
