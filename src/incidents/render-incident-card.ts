import { andMore, cutList, defaultBudget, fitCard, type CardBudget } from '../cards/budget';
import { cleanText, defangIndicator, escapeMarkdown, spoken, untrusted } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import type { IncidentEnrichment } from '../enrichment/summarize';
import type { SourceResult } from '../enrichment/types';
import type { ActionRowView, Button } from '../actions/render-action-view';
import { GRAPH_CLOSE_CHOICES, GRAPH_CLOSE_OFFERED } from '../graph/graph-close-choices';
import { CASE_SYSTEM_NAMES, safeLink, type CaseRef, type CaseSystemName } from '../cases/case-system';
import { incidentRef, portalLinksOf, portalNameOf, writeBackOf, type Entity, type EntityKind, type Incident, type Severity } from './incident';

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
  /** When the response reached each milestone: the footer says how long containment took. */
  timeline?: ResponseTimeline;
}

/** The SOC's milestones for one incident, from the stored actions. */
export interface ResponseTimeline {
  firstRequestAt?: Date;
  firstApprovalAt?: Date;
  containedAt?: Date;
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

/**
 * Severity as a tinted container with default (dark) text on it: the semantic colour is the
 * background, so the text keeps the host's full contrast in light, dark and high-contrast themes.
 */
const severityLook: Record<Severity | 'Critical', { style: string; color: string; label: string }> = {
  Critical: { style: 'attention', color: 'Attention', label: '🟥 CRITICAL' },
  High: { style: 'attention', color: 'Attention', label: '🔴 HIGH' },
  Medium: { style: 'warning', color: 'Warning', label: '🟠 MEDIUM' },
  Low: { style: 'accent', color: 'Accent', label: '🔵 LOW' },
  Informational: { style: 'default', color: 'Default', label: '⚪ INFORMATIONAL' },
};

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

/** RFC 3339 without fractions: the only form Adaptive Cards' DATE() and TIME() accept. */
const rfc3339 = (at: Date | string): string => `${new Date(at).toISOString().slice(0, 19)}Z`;

/**
 * A time every viewer reads in their own locale and time zone: Adaptive Cards' `{{DATE()}}` and
 * `{{TIME()}}` are expanded by the Teams client. Only in TextBlocks (not facts or buttons).
 */
export const localTime = (at: Date | string): string => {
  const t = rfc3339(at);
  return `{{DATE(${t}, SHORT)}} {{TIME(${t})}}`;
};

/** "4 min", "2 h 5 min", "3 d 2 h": how long people waited, to the minute. */
export const duration = (ms: number): string => {
  const min = Math.max(0, Math.round(ms / 60_000));
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
};

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

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The workspace's query columns as sentences ("2 related incidents in 7 days: #1038, #1039"), the
 * incident itself left out of its own related incidents; columns nobody named stay "key value".
 */
const kqlSentences = (facts: Record<string, string | number | boolean | null>, self?: number): string[] => {
  const out: string[] = [];
  const rest = { ...facts };
  if ('RelatedIncidents7d' in rest || 'Incidents' in rest) {
    const listed = String(rest.Incidents ?? '')
      .split(/[,\s]+/)
      .filter((x) => /^\d+$/.test(x) && Number(x) !== self);
    const counted = Number(rest.RelatedIncidents7d ?? listed.length);
    const others =
      self !== undefined &&
      String(rest.Incidents ?? '')
        .split(/[,\s]+/)
        .includes(String(self))
        ? Math.max(0, counted - 1)
        : counted;
    out.push(others === 0 ? 'no other incidents in 7 days' : `${plural(others, 'related incident')} in 7 days${listed.length ? `: ${listed.map((n) => `#${n}`).join(', ')}` : ''}`);
    delete rest.RelatedIncidents7d;
    delete rest.Incidents;
  }
  if (typeof rest.SignIns24h === 'number') {
    const failed = typeof rest.Failed24h === 'number' ? `, ${rest.Failed24h} failed` : '';
    const accounts = typeof rest.Accounts === 'number' ? ` to ${plural(rest.Accounts, 'account')}` : '';
    const countries = rest.Countries && rest.Countries !== 'none' ? ` from ${rest.Countries}` : '';
    out.push(`${plural(rest.SignIns24h, 'sign-in')}${accounts} in 24 hours${failed}${countries}`);
    delete rest.SignIns24h;
    delete rest.Failed24h;
    delete rest.Accounts;
    delete rest.Countries;
  }
  for (const [k, v] of Object.entries(rest)) {
    const t = factText(k, v);
    if (t) out.push(t);
  }
  return out;
};

/**
 * One line per source: its score first, then its facts (the workspace's as sentences, without the
 * incident `self` itself); an unavailable source says why.
 */
export const sourceLine = (r: SourceResult, max = 300, self?: number): string => {
  if (r.status !== 'ok') return `unavailable — ${untrusted(r.reason, Math.min(120, max))}`;
  if (r.source === 'Log Analytics') return untrusted(kqlSentences(r.facts, self).join(' · '), max);
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
      lines: x.results.map((r) => ({ source: untrusted(r.source, 40), text: sourceLine(r, d.sourceText, incident.number) })),
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
    note: `This incident is too large for one Teams message. \`entities ${incident.number}\` lists its entities; ${portalNameOf(incident)} has the rest.`,
    url: incident.url,
    portalName: portalNameOf(incident),
  });
};

/**
 * The incident card for a channel: the verdict first (when enrichment has one), then the facts,
 * the entities, what each source said about them, and the portal link. The largest version that
 * fits `budget` (Teams' message size by default): long lists end in "…and N more", long text in an
 * ellipsis, and at the last a minimal card.
 */
export function renderIncidentCard(
  incident: Incident,
  enrichment?: IncidentEnrichment,
  now: Date = new Date(),
  response?: ResponseView,
  budget: CardBudget = defaultBudget,
  cases?: CaseView,
): CardAttachment {
  return fitCard<Detail | 'minimal'>([...DETAIL, 'minimal'], (d) => (d === 'minimal' ? minimalCard(incident) : detailedCard(incident, enrichment, now, response, d, cases)), budget);
}

/** The case system Vigil is configured with, and the incident's case once there is one. */
export interface CaseView {
  system: CaseSystemName;
  ref?: CaseRef;
}

/** The case on the card: "🎫 INC0010001 in ServiceNow · resolved" and a button to it (its link only when http(s)). */
const caseData = (c?: CaseRef) => {
  if (!c) return { caseLine: '', caseUrl: '', caseButton: '' };
  const number = untrusted(c.number, 40);
  return {
    caseLine: `🎫 ${number} in ${CASE_SYSTEM_NAMES[c.system]}${c.state === 'resolved' ? ' · resolved' : ''}`,
    caseUrl: safeLink(c.url) ?? '',
    caseButton: `Open ${spoken(c.number, 40)} in ${CASE_SYSTEM_NAMES[c.system]}`,
  };
};
const RANK = ['Informational', 'Low', 'Medium', 'High', 'Critical'];

/** The severity a card leads with: Vigil's assessment when it is worse than Sentinel's. */
export const headlineSeverity = (sentinel: Severity, assessed?: string): Severity | 'Critical' =>
  assessed && RANK.indexOf(assessed) > RANK.indexOf(sentinel) ? (assessed as Severity | 'Critical') : sentinel;

/** How many buttons stand on the first screen, one to a row; the rest are in the overflow menu. */
const PRIMARY_BUTTONS = 3;
const KEY_ENTITIES = 4;
/** The overflow menu shares its action set with Details: five actions at most in all. */
const SECONDARY_BUTTONS = 4;

/** The entities an analyst needs first: the riskiest scored ones, then the rest in Sentinel's order. */
const keyEntities = (incident: Incident, e?: IncidentEnrichment): Array<{ entity: Entity; score?: number }> => {
  const scored = byRisk(e?.entities ?? []).filter((x) => x.score !== undefined);
  const seen = new Set(scored.map((x) => `${x.entity.kind}:${x.entity.value}`));
  return [...scored.map((x) => ({ entity: x.entity, score: x.score })), ...incident.entities.filter((x) => !seen.has(`${x.kind}:${x.value}`)).map((entity) => ({ entity }))];
};

/** One short line per entity for the first screen; a hash shows its first 16 characters. */
const keyLine = (x: { entity: Entity; score?: number }) => {
  const value = entityText(x.entity, x.entity.kind === 'filehash' ? 17 : 60);
  return { kind: entityLabel[x.entity.kind], value: `${value}${x.score === undefined ? '' : ` · risk ${Math.round(x.score)}`}` };
};

/** "contained 4 min after it was raised", or how far the response got. */
const responseFooter = (incident: Incident, t?: ResponseTimeline): string => {
  const raised = new Date(incident.createdAt).getTime();
  if (t?.containedAt) return `contained ${duration(t.containedAt.getTime() - raised)} after it was raised`;
  if (t?.firstApprovalAt) return `approved ${duration(t.firstApprovalAt.getTime() - raised)} after it was raised`;
  if (t?.firstRequestAt) return `first request ${duration(t.firstRequestAt.getTime() - raised)} after it was raised`;
  return '';
};

/** What a screen reader says for the card: which incident, how bad, and the verdict. */
const speakText = (incident: Incident, e?: IncidentEnrichment): string => {
  const v = verdictOf(e);
  const verdict = e?.recommendation ? ` Vigil recommends: ${e.recommendation.replace('_', ' ').toLowerCase()}, risk ${Math.round(e.score ?? 0)} of 100.` : '';
  return `${e?.assessedSeverity ?? incident.severity} severity incident ${incident.number}: ${spoken(incident.title, 150)}. Status ${incident.status}.${v.verdict ? verdict : ''}`;
};

const SENTINEL_CLOSE_CHOICES = [
  { title: 'True positive — suspicious activity', value: 'TruePositive/SuspiciousActivity' },
  { title: 'Benign positive — suspicious but expected', value: 'BenignPositive/SuspiciousButExpected' },
  { title: 'False positive — incorrect alert logic', value: 'FalsePositive/IncorrectAlertLogic' },
  { title: 'False positive — inaccurate data', value: 'FalsePositive/InaccurateData' },
  { title: 'Undetermined', value: 'Undetermined' },
];

/** The close form's choices: Defender's classifications and determinations for its incidents, Sentinel's otherwise. */
const closeChoicesOf = (incident: Incident) =>
  writeBackOf(incident) === 'graph'
    ? GRAPH_CLOSE_OFFERED.map((value) => {
        const label = GRAPH_CLOSE_CHOICES[value]!.label.replace(/ \((.*)\)$/, ' — $1');
        return { title: label.charAt(0).toUpperCase() + label.slice(1), value };
      })
    : SENTINEL_CLOSE_CHOICES;

/** The incident's page in the other portal (Defender for a Sentinel incident it raised, Sentinel for a matched Graph one), https only. */
const otherPortal = (incident: Incident): { otherUrl: string; otherPortalName: string } => {
  const other = portalLinksOf(incident)[1];
  const https = other !== undefined && URL.canParse(other.url) && new URL(other.url).protocol === 'https:';
  return other && https ? { otherUrl: other.url, otherPortalName: other.portal } : { otherUrl: '', otherPortalName: '' };
};

function detailedCard(incident: Incident, enrichment: IncidentEnrichment | undefined, now: Date, response: ResponseView | undefined, d: Detail, cases?: CaseView): CardAttachment {
  const assessed = headlineSeverity(incident.severity, enrichment?.assessedSeverity);
  const look = severityLook[assessed];
  const entities = cutList(incident.entities, d.entities);
  const owner = incident.owner?.name ?? incident.owner?.upn ?? incident.owner?.email;
  const allRows = response?.rows ?? [];
  // The newest actions: older ones are in `audit <n>`.
  const rows = { shown: d.rows > 0 ? allRows.slice(-d.rows) : [], hidden: Math.max(0, allRows.length - d.rows) };
  const options = cutList(response?.optionGroups ?? [], d.optionGroups);
  const buttons = options.shown.flatMap((g) => g.buttons);
  const ordered = [...buttons.filter((b) => b.recommended), ...buttons.filter((b) => !b.recommended)];
  const key = cutList(keyEntities(incident, enrichment), KEY_ENTITIES);
  const status = incident.classification && incident.status === 'Closed' ? `Closed (${untrusted(incident.classification, 40)})` : incident.status;
  const footer = [`Raised ${localTime(incident.createdAt)}`, responseFooter(incident, response?.timeline), `updated ${localTime(now)}`, 'Vigil'].filter(Boolean).join(' · ');
  const card = renderCard('incident', {
    speak: speakText(incident, enrichment),
    severityStyle: look.style,
    severityLabel: look.label,
    number: incident.number,
    title: untrusted(incident.title, d.title),
    status,
    ...caseData(cases?.ref),
    // A responder may open the case by hand where the policy did not.
    canOpenCase: Boolean(cases && !cases.ref && response?.canWrite && incident.status !== 'Closed'),
    // With several workspaces the card says whose incident it is (its short name from VIGIL_WORKSPACES_FILE).
    subtitle: [
      incident.workspace ? untrusted(incident.workspace, 32) : '',
      owner ? untrusted(owner, 60) : 'Unassigned',
      plural(incident.alertCount, 'alert'),
      incident.techniques.length ? untrusted(incident.techniques.slice(0, 3).join(', '), 60) : '',
    ]
      .filter(Boolean)
      .join(' · '),
    severity: assessed === incident.severity ? incident.severity : `${assessed} (assessed by Vigil; Sentinel says ${incident.severity})`,
    owner: owner ? untrusted(owner, 100) : 'Unassigned',
    alerts: String(incident.alertCount),
    products: list(incident.products),
    tactics: list(incident.tactics),
    techniques: list(incident.techniques),
    description: d.description > 0 ? untrusted(incident.description, d.description) : '',
    keyEntities: key.shown.map(keyLine),
    entities: entities.shown.map((e) => ({ kind: entityLabel[e.kind], value: entityText(e, d.entityText) })),
    moreEntities: andMore(entities.hidden, `· \`entities ${incident.number}\` lists them all`),
    url: incident.url,
    portalName: portalNameOf(incident),
    ...otherPortal(incident),
    // Buttons name the incident by number and, where two workspaces may share it, workspace.
    buttonData: incidentButtonData(incident),
    closeChoices: closeChoicesOf(incident),
    ...enrichmentData(incident, enrichment, d),
    notice: response?.notice?.text ?? '',
    noticeColor: response?.notice?.ok === false ? 'Attention' : 'Default',
    actionRows: rows.shown.map((r) => ({ ...r, style: r.tint })),
    moreRows: andMore(rows.hidden, `earlier actions · \`audit ${incident.number}\` has the record`),
    primaryButtons: ordered.slice(0, PRIMARY_BUTTONS).map((b) => ({ ...b })),
    secondaryButtons: ordered.slice(PRIMARY_BUTTONS, PRIMARY_BUTTONS + SECONDARY_BUTTONS),
    moreOptions: andMore(
      (response?.optionGroups ?? []).flatMap((g) => g.buttons).length - Math.min(ordered.length, PRIMARY_BUTTONS + SECONDARY_BUTTONS),
      `actions on the incident's entities · \`block\`, \`isolate\` or \`disable\` … \`for ${incident.number}\` in chat`,
    ),
    showDetails: true,
    footer,
    hasOpen: response?.hasOpen ?? false,
    canWrite: response?.canWrite ?? false,
    canClose: (response?.canWrite ?? false) && incident.status !== 'Closed',
  });
  if (response?.hasOpen && response.refreshUserIds && response.refreshUserIds.length > 0) {
    card.content.refresh = {
      action: { type: 'Action.Execute', title: 'Refresh', verb: 'card.refresh', data: incidentButtonData(incident) },
      userIds: response.refreshUserIds.slice(0, Math.min(d.refreshUsers, MAX_REFRESH_USERS)),
    };
  }
  return card;
}

/** What a button says of its incident: the number, and the workspace's short name where it has one (`clickedIncident` reads both). */
export const incidentButtonData = (i: Pick<Incident, 'number' | 'workspace'>): { incident: number; workspace?: string } => ({
  incident: i.number,
  ...(i.workspace && { workspace: i.workspace }),
});

/** Teams refreshes a card automatically for at most 60 users. */
const MAX_REFRESH_USERS = 60;

/** One line per incident for lists in chat. */
export const incidentLine = (i: Incident, titleMax = 120, assessed?: string): string => {
  return `${severityLook[headlineSeverity(i.severity, assessed)].label} **${untrusted(incidentRef(i), 45)}** ${untrusted(i.title, titleMax)} · ${i.status} · ${localTime(i.createdAt)}`;
};
