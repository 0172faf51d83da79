import { defangIndicator, escapeMarkdown, untrusted } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import type { Entity, EntityKind, Incident, Severity, Status } from './incident';

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
const entityText = (e: Entity): string =>
  e.kind === 'url' || e.kind === 'domain' ? escapeMarkdown(defangIndicator(e.value.slice(0, 200))) : untrusted(e.value, 200);

export const formatTime = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

const list = (xs: string[], empty = '—') => (xs.length === 0 ? empty : untrusted(xs.join(', '), 200));

/** The incident card for a channel: verdict first, then facts, entities and the portal link. */
export function renderIncidentCard(incident: Incident, now: Date = new Date()): CardAttachment {
  const look = severityLook[incident.severity];
  const shown = incident.entities.slice(0, MAX_ENTITIES_SHOWN);
  const hidden = incident.entities.length - shown.length;
  const owner = incident.owner?.name ?? incident.owner?.upn ?? incident.owner?.email;
  return renderCard('incident', {
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
  });
}

/** One line per incident for lists in chat. */
export const incidentLine = (i: Incident): string =>
  `${severityLook[i.severity].label} **#${i.number}** ${untrusted(i.title, 120)} · ${i.status} · ${formatTime(i.createdAt)}`;
